"""Example module: an I/O statistics vbdev with a latency histogram, read by RPC.

    bdev_latency_histogram_create {base_bdev_name, name, mode}
    bdev_latency_histogram_get {name}
        -> {"tick_rate": hz, "io_types": {"read": {"ios": n, "p50_us": x, "p99_us": y,
                                                   "buckets": {"<0.5us": n, "<1us": n, ...}}}}

The split is hybrid mode's: C counts every I/O into per-channel, per-type,
power-of-two histograms (`latency_histogram = True`; no lock, no Python per
I/O), and Python owns the rest: creating the vbdev, summing the channels,
turning ticks into microseconds and percentiles for the RPC. The module
defines no per-I/O hook, so every I/O is forwarded and completed in C in
either mode.
"""

from spdk_py import io, passthru
from spdk_py.jsonrpc import RpcError, rpc_method


class LatencyHistogram(passthru.PassthruVbdev):
    product_name = "latency histogram"
    create_method = "bdev_latency_histogram_create"
    latency_histogram = True

    def config_params(self):
        return {"base_bdev_name": self.base_name, "name": self.name, "mode": self.mode}


def summarize(counts, ticks_per_us):
    """Bucket b holds latencies below 2**b ticks: labels in us, and percentiles."""
    total = sum(counts)
    summary = {"ios": total, "buckets": {}}
    seen = 0
    for b, n in enumerate(counts):
        if not n:
            continue
        upper_us = (1 << b) / ticks_per_us
        summary["buckets"]["<%.3gus" % upper_us] = n
        for name, share in (("p50_us", 0.5), ("p99_us", 0.99)):
            if name not in summary and seen + n >= share * total:
                summary[name] = round(upper_us, 3)
        seen += n
    return summary


@rpc_method("bdev_latency_histogram_create", params={"base_bdev_name": str, "name": str},
            optional={"mode": str})
def bdev_latency_histogram_create(params):
    """Create a bdev that keeps a latency histogram of every I/O."""
    return passthru.create_from_rpc(params, LatencyHistogram)


@rpc_method("bdev_latency_histogram_get", params={"name": str}, deferred=True)
def bdev_latency_histogram_get(request, params):
    """The latency histogram by I/O type: I/Os per power-of-two bucket, p50 and p99."""
    node = passthru.existing(params["name"], LatencyHistogram, "latency histogram")
    hz = io.ticks_hz()

    def collected(rc, stats):
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "collecting the histogram").message)
            return
        request.result({"tick_rate": hz, "io_types": {
            name: summarize(stat["latency_hist"], hz / 1e6) for name, stat in stats.items()}})
    node.collect_stats(collected)
