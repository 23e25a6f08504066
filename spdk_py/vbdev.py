"""The Python side of a virtual bdev: the object the shim's fn_table lands in.

A Vbdev owns one C `struct spdk_py_vbdev` and the ffi handle the C side holds.
Both stay alive until the bdev layer is done with them: the handle is dropped
only when the io_device is unregistered (`released`), never before.
"""

import errno
import itertools

from spdk_py.bdev import IoStatus, IoType
from spdk_py.binding import binding
from spdk_py.io_errors import io_exception

FAILED = int(IoStatus.FAILED)

# Every Vbdev whose C side may still call into it; tests read its size.
live = set()

# Callbacks waiting for C to finish something (spdk_py_done), by the key C hands back.
_waiters = {}
_keys = itertools.count(1)


class Vbdev:
    """Subclass and override the hooks; the defaults fail what they do not know."""

    product_name = "Python vbdev"

    def __init__(self, name):
        ffi, lib = binding.require()
        self.name = name
        self.exceptions = 0  # raised by this vbdev's per-I/O hooks
        self.python_ios = [0] * lib.SPDK_PY_NUM_IO_TYPES  # I/Os Python saw, by type
        self._handle = ffi.new_handle(self)
        self.node = lib.spdk_py_vbdev_alloc(name.encode(), self.product_name.encode(),
                                            self._handle)
        if self.node == ffi.NULL:
            raise MemoryError("could not allocate vbdev %s" % name)
        self.node.count_stats = True
        if type(self).complete_io is not Vbdev.complete_io:
            self.node.hooks |= lib.SPDK_PY_HOOK_COMPLETE
        live.add(self)

    @property
    def bdev(self):
        """The struct spdk_bdev * this vbdev registers."""
        return binding.ffi.addressof(self.node.bdev)

    # Per-I/O hooks. submit_request must forward, queue or complete the I/O
    # (through the lib.spdk_py_base_*/spdk_py_io_* helpers); one it leaves
    # untaken, by returning or raising, C fails.
    def submit_request(self, ch, io, io_type):
        return -errno.ENOTSUP

    def io_type_supported(self, io_type):
        return False

    # Optional: defining it in a subclass puts Python on the completion path.
    # It returns the status to complete the I/O with (None: unchanged).
    def complete_io(self, io, io_type, status):
        return status

    # What C calls: a batch of I/Os per call. Override for speed; these
    # defaults call the per-I/O hooks, and an exception fails only its I/O.
    def submit_batch(self, ch, ios, types, n):
        submit = self.submit_request
        seen = self.python_ios
        for i in range(n):
            seen[types[i]] += 1
            try:
                submit(ch, ios[i], types[i])
            except Exception as exc:
                io_exception(self, "submit_request", types[i], exc)

    def complete_batch(self, ios, types, statuses, n):
        complete = self.complete_io
        for i in range(n):
            try:
                status = complete(ios[i], types[i], statuses[i])
                if status is not None:
                    statuses[i] = status
            except Exception as exc:
                statuses[i] = FAILED
                io_exception(self, "complete_io", types[i], exc)

    # Control-path hooks.
    def dump_info(self):
        """(key, value) written into bdev_get_bdevs' driver_specific, or None."""
        return None

    def destruct(self):
        return 0

    def collect_stats(self, done):
        """done(rc, stats): per I/O type {ios, blocks, errors, latency_ticks,
        latency_samples, nomem_queued} (latency is sampled), summed over every
        channel; names from IoType, types with no I/O left out."""
        ffi, lib = binding.require()
        out = ffi.new("struct spdk_py_stats *")

        def collected(rc):
            stats = {}
            for t in IoType:
                s = out.by_type[t]
                if s.ios or s.nomem_queued:
                    stats[t.name.lower()] = {"ios": s.ios, "blocks": s.blocks,
                                             "errors": s.errors,
                                             "latency_ticks": s.latency_ticks,
                                             "latency_samples": s.latency_samples,
                                             "nomem_queued": s.nomem_queued}
            done(rc, stats)
        cb_arg = waiter(collected)
        rc = lib.spdk_py_vbdev_collect_stats(self.node, out, cb_arg)
        if rc:
            finished(int(ffi.cast("uintptr_t", cb_arg)), rc)

    def released(self):
        """The C side is gone: nothing will call into this object again."""
        live.discard(self)

    def free(self):
        """Undo __init__ on a vbdev that was never registered."""
        binding.lib.spdk_py_vbdev_free(self.node)
        self.node = binding.ffi.NULL
        live.discard(self)


def waiter(done):
    """A cb_arg for C that makes spdk_py_done(cb_arg, rc) call done(rc), once."""
    key = next(_keys)
    _waiters[key] = done
    return binding.ffi.cast("void *", key)


def pending_waiters():
    return list(_waiters)


def finished(key, rc):
    done = _waiters.pop(key, None)
    if done is not None:
        done(rc)


def unregister(bdev, done):
    """spdk_bdev_unregister(bdev); done(rc) runs when the bdev layer finishes."""
    lib = binding.lib
    lib.spdk_bdev_unregister(bdev, lib.spdk_py_done, waiter(done))

