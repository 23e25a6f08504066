"""Example module: an I/O statistics vbdev with a latency histogram, read by RPC. ::

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

from __future__ import annotations

import errno
from typing import Any

from spdk_py.bdev_io import ticks_hz
from spdk_py.jsonrpc import RpcError, rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import create_from_rpc, existing


class LatencyHistogram(PassthruVbdev):
    product_name = "latency histogram"
    create_method = "bdev_latency_histogram_create"
    latency_histogram = True

    def config_params(self) -> dict[str, Any]:
        return {"base_bdev_name": self.base_name, "name": self.name, "mode": self.mode}


def summarize(counts: list[int], ticks_per_us: float) -> dict[str, Any]:
    """Bucket b holds latencies below 2**b ticks: labels in us, and percentiles."""
    total = sum(counts)
    summary: dict[str, Any] = {"ios": total, "buckets": {}}
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
def bdev_latency_histogram_create(params: dict) -> str:
    """Create a bdev that keeps a latency histogram of every I/O."""
    return create_from_rpc(params, LatencyHistogram)


@rpc_method("bdev_latency_histogram_get", params={"name": str})
async def bdev_latency_histogram_get(params: dict) -> dict[str, Any]:
    """The latency histogram by I/O type: I/Os per power-of-two bucket, p50 and p99."""
    node = existing(params["name"], LatencyHistogram, "latency histogram")
    hz = ticks_hz()
    try:
        stats = await node.collect_stats()
    except OSError as exc:
        raise RpcError.from_errno(-(exc.errno or errno.EIO), "collecting the histogram") from None
    return {"tick_rate": hz, "io_types": {
        name: summarize(stat["latency_hist"], hz / 1e6) for name, stat in stats.items()}}
