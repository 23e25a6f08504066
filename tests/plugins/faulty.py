"""A test plugin: passthru vbdevs that raise on purpose, and one that counts.

Stack a counting vbdev on a faulty one: the faulty vbdev raises in submit on
every Nth I/O and in completion on every Mth; the counting vbdev above sees
each I/O's final status. Every raise must show up as exactly one failed I/O.
"""

import threading

from spdk_py import passthru
from spdk_py.bdev import IoStatus
from spdk_py.jsonrpc import rpc_method
from spdk_py.vbdev_rpc import create_from_rpc, existing


class FaultyVbdev(passthru.PassthruVbdev):
    create_method = "bdev_faulty_create"

    def __init__(self, name, mode, submit_every, complete_every):
        super().__init__(name, mode)
        self.submit_every = submit_every
        self.complete_every = complete_every
        self.counts = {"submitted": 0, "completed": 0, "raised_submit": 0, "raised_complete": 0}
        self.lock = threading.Lock()  # (hooks run on every reactor at once)

    def _count(self, what, every):
        """Count one; whether it is the every-th (to raise on)."""
        with self.lock:
            self.counts[what] += 1
            raise_now = bool(every) and self.counts[what] % every == 0
            if raise_now:
                self.counts["raised_" + ("submit" if what == "submitted" else "complete")] += 1
        return raise_now

    def submit_request(self, io, io_type):
        if self._count("submitted", self.submit_every):
            raise RuntimeError("injected submit fault")
        return super().submit_request(io, io_type)

    def complete_io(self, io, io_type, status):
        if self._count("completed", self.complete_every):
            raise RuntimeError("injected completion fault")
        return status

    def config_params(self):
        return dict(super().config_params(), submit_every=self.submit_every,
                    complete_every=self.complete_every)


class CountingVbdev(passthru.PassthruVbdev):
    create_method = "bdev_counting_create"
    # Python forwards every submission too, as the plain passthru does in python mode.
    submit_request = passthru.PassthruVbdev.submit_request

    def __init__(self, name, mode):
        super().__init__(name, mode)
        self.counts = {"ok": 0, "failed": 0}
        self.lock = threading.Lock()

    def complete_io(self, io, io_type, status):
        with self.lock:
            self.counts["ok" if status == IoStatus.SUCCESS else "failed"] += 1
        return status


@rpc_method("bdev_faulty_create", params={"base_bdev_name": str, "name": str},
            optional={"submit_every": int, "complete_every": int, "mode": str, "policy": dict,
                      "stats": bool})
def bdev_faulty_create(params):
    """Create a passthru that raises in submit every Nth and in completion every Mth I/O."""
    submit_every = params.pop("submit_every", 0)
    complete_every = params.pop("complete_every", 0)
    return create_from_rpc(
        params, lambda name, mode: FaultyVbdev(name, mode, submit_every, complete_every))


@rpc_method("bdev_counting_create", params={"base_bdev_name": str, "name": str},
            optional={"mode": str})
def bdev_counting_create(params):
    """Create a passthru that counts its I/Os' completion statuses."""
    return create_from_rpc(params, CountingVbdev)


@rpc_method("bdev_faulty_get_counts", params={"name": str})
def bdev_faulty_get_counts(params):
    """The counters of a faulty or counting vbdev."""
    node = existing(params["name"], (FaultyVbdev, CountingVbdev), "faulty or counting")
    with node.lock:
        return dict(node.counts, exceptions=node.exceptions)
