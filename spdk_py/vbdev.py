"""The Python side of a virtual bdev: the object the shim's fn_table lands in.

A Vbdev owns one C `struct spdk_py_vbdev` and the ffi handle the C side holds.
Both stay alive until the bdev layer is done with them: the handle is dropped
only when the io_device is unregistered (`released`), never before.
"""

from spdk_py.bdev import IoStatus, IoType
from spdk_py._runtime.binding import binding
from spdk_py._runtime.io_errors import io_exception
from spdk_py._runtime.waiters import finished, waiter

FAILED = int(IoStatus.FAILED)

# Every Vbdev whose C side may still call into it; tests read its size.
live = set()

# Per-type hook names: submit_read, complete_write, ...
def _hook_name(prefix, io_type):
    return "%s_%s" % (prefix, io_type.name.lower())


class Vbdev:
    """Subclass and define the hooks you need; see README's "Writing your own module".

    Per-I/O hooks, all optional:
      submit_request(ch, io, io_type)     every I/O type's submission
      submit_<type>(io)                   one type's: submit_read, submit_write, ...
      complete_io(io, io_type, status)    every I/O type's completion
      complete_<type>(io, status)         one type's: complete_read, ...
    An I/O type with no submit hook is forwarded to the base in C, and one with
    no completion hook completes in C, as the plain passthru would: Python is
    entered only where it has something to do.
    """

    product_name = "Python vbdev"
    # Keep a latency histogram of every I/O in C (read with collect_stats).
    latency_histogram = False
    # Whether the base's memory domains are this vbdev's too (SPDK 21.10+):
    # true only if no hook of it reads or writes the I/O's data, since data in
    # another domain (an RDMA NIC's, an accel engine's) is not in this
    # process's memory. Unset, it is true when the class defines no per-I/O
    # hook; then the bdev layer hands such a vbdev local buffers.
    memory_domains = None

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
        self.node.latency_hist = self.latency_histogram
        self.bind_hooks()
        live.add(self)

    # Classes whose hooks count as "not defined": C runs the plain passthru instead.
    def plain_classes(self):
        return (Vbdev,)

    def _defines(self, attr):
        owner = next((k for k in type(self).__mro__ if attr in vars(k)), None)
        return owner is not None and owner not in self.plain_classes()

    def _hooks(self, generic, prefix):
        """(bound hook by I/O type or None where C does it, their types as a bit
        mask, whether the hook is the generic one)."""
        num_types = len(self.python_ios)
        if self._defines(generic):
            return [getattr(self, generic)] * num_types, (1 << num_types) - 1, True
        hooks = [None] * num_types
        for t in IoType:
            if self._defines(_hook_name(prefix, t)):
                hooks[t] = getattr(self, _hook_name(prefix, t))
        return hooks, sum(1 << t for t, hook in enumerate(hooks) if hook is not None), False

    def bind_hooks(self):
        """Tell C which I/O types Python hooks; again after the class changes (reload)."""
        self._submit_hooks, submit_mask, self._submit_generic = self._hooks("submit_request",
                                                                           "submit")
        self._complete_hooks, complete_mask, self._complete_generic = self._hooks("complete_io",
                                                                                 "complete")
        self.node.submit_types = submit_mask
        self.node.complete_types = complete_mask
        if self._defines("memory_domains"):
            self.node.memory_domains = bool(self.memory_domains)
        else:
            self.node.memory_domains = not (submit_mask or complete_mask)

    @property
    def bdev(self):
        """The struct spdk_bdev * this vbdev registers."""
        return binding.ffi.addressof(self.node.bdev)

    # A submit hook must forward, queue or complete the I/O (through the
    # lib.spdk_py_base_*/spdk_py_io_* helpers, or spdk_py.io); one it leaves
    # untaken, by returning or raising, C fails. A completion hook returns the
    # status to complete the I/O with (None: unchanged).

    def io_type_supported(self, io_type):
        return False

    # What C calls: a batch of I/Os per call, dispatched to the hooks. Override
    # for speed; an exception fails only its own I/O.
    def submit_batch(self, ch, ios, types, n):
        hooks, generic = self._submit_hooks, self._submit_generic
        seen = self.python_ios
        for i in range(n):
            io_type = types[i]
            seen[io_type] += 1
            hook = hooks[io_type]
            if hook is None:  # C's to forward (it was queued while Python paused)
                binding.lib.spdk_py_forward(ios[i])
                continue
            try:
                if generic:
                    hook(ch, ios[i], io_type)
                else:
                    hook(ios[i])
            except Exception as exc:
                io_exception(self, hook.__name__, io_type, exc)

    def complete_batch(self, ios, types, statuses, n):
        hooks, generic = self._complete_hooks, self._complete_generic
        for i in range(n):
            io_type = types[i]
            hook = hooks[io_type]
            if hook is None:
                continue
            try:
                if generic:
                    status = hook(ios[i], io_type, statuses[i])
                else:
                    status = hook(ios[i], statuses[i])
                if status is not None:
                    statuses[i] = status
            except Exception as exc:
                statuses[i] = FAILED
                io_exception(self, hook.__name__, io_type, exc)

    # Control-path hooks.
    def dump_info(self):
        """(key, value) written into bdev_get_bdevs' driver_specific, or None."""
        return None

    def destruct(self):
        return 0

    def collect(self, done, counters=False):
        """done(rc, out): out is a struct spdk_py_stats summed over every
        channel, each read on its own thread. The per-type counters are whole
        only with counters (the bdev layer's count of reads, writes and unmaps
        is added in, one more pass over the channels)."""
        ffi, lib = binding.require()
        out = ffi.new("struct spdk_py_stats *")
        cb_arg = waiter(lambda rc: done(rc, out))
        rc = lib.spdk_py_vbdev_collect_stats(self.node, out, counters, cb_arg)
        if rc:
            finished(int(ffi.cast("uintptr_t", cb_arg)), rc)

    def collect_stats(self, done):
        """done(rc, stats): per I/O type {ios, blocks, errors, latency_ticks,
        latency_samples, nomem_queued} (latency_hist too, if the class keeps a
        histogram), summed over every channel; names from IoType, types with
        no I/O left out. Successful reads, writes and unmaps are the bdev
        layer's own count, with every I/O's latency (a zero-copy start counts
        as a read or a write there too, as in bdev_get_iostat); the shim counts
        the rest, sampling latency. rc is -ENODEV once the vbdev is being
        unregistered."""
        buckets = binding.lib.SPDK_PY_HIST_BUCKETS

        def collected(rc, out):
            stats = {}
            for t in IoType:
                s = out.by_type[t]
                if s.ios or s.nomem_queued:
                    stats[t.name.lower()] = {"ios": s.ios, "blocks": s.blocks,
                                             "errors": s.errors,
                                             "latency_ticks": s.latency_ticks,
                                             "latency_samples": s.latency_samples,
                                             "nomem_queued": s.nomem_queued}
                    if self.latency_histogram:
                        stats[t.name.lower()]["latency_hist"] = list(
                            out.latency_hist[t * buckets:(t + 1) * buckets])
            done(rc, stats)
        self.collect(collected, counters=True)

    def released(self):
        """The C side is gone: nothing will call into this object again."""
        live.discard(self)

    def free(self):
        """Undo __init__ on a vbdev that was never registered."""
        binding.lib.spdk_py_vbdev_free(self.node)
        self.node = binding.ffi.NULL
        live.discard(self)


def unregister(vbdev, done):
    """spdk_bdev_unregister() of vbdev; done(rc) runs when the bdev layer
    finishes (after any stats collection in flight)."""
    binding.lib.spdk_py_vbdev_unregister(vbdev.node, waiter(done))

