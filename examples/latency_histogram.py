"""Example module: a latency histogram of every I/O, read by RPC.

    bdev_latency_histogram_create {base_bdev_name, name}
    bdev_latency_histogram_get {name} -> {"read": {"<1us": n, "<2us": n, "<4us": n, ...}, ...}

The completion hook (complete_io) puts Python on the completion path; the
latency is from the bdev layer's submit timestamp to now, in power-of-two
microsecond buckets.
"""

from spdk_py import io, passthru
from spdk_py.bdev import IoType
from spdk_py.jsonrpc import rpc_method


class LatencyHistogram(passthru.PassthruVbdev):
    product_name = "latency histogram"
    create_method = "bdev_latency_histogram_create"

    def __init__(self, name, mode):
        super().__init__(name, mode)
        self.ticks_per_us = io.ticks_hz() / 1e6
        self.buckets = {}    # io_type -> [count per power-of-two us bucket]

    def complete_io(self, bdev_io, io_type, status):
        us = int(io.age_ticks(bdev_io) / self.ticks_per_us)
        counts = self.buckets.setdefault(io_type, [0] * 32)
        counts[min(us.bit_length(), 31)] += 1
        return status

    def config_params(self):
        return {"base_bdev_name": self.base_name, "name": self.name}

    def histogram(self):
        return {IoType(t).name.lower(): {"<%dus" % (1 << i): n
                                         for i, n in enumerate(counts) if n}
                for t, counts in self.buckets.items()}


@rpc_method("bdev_latency_histogram_create", params={"base_bdev_name": str, "name": str})
def bdev_latency_histogram_create(params):
    """Create a bdev that keeps a latency histogram of every I/O."""
    return passthru.create_from_rpc(params, LatencyHistogram)


@rpc_method("bdev_latency_histogram_get", params={"name": str})
def bdev_latency_histogram_get(params):
    """The latency histogram, by I/O type: I/Os per power-of-two microseconds."""
    return passthru.existing(params["name"], LatencyHistogram, "latency histogram").histogram()
