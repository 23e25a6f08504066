"""A vbdev's machinery: its C node (struct spdk_py_vbdev), the hooks it
tells C about, and the batches C hands Python. The author's object (a
spdk_py.vbdev.Vbdev) only defines hooks; C holds a handle to this engine.

C calls submit_batch with the I/Os whose submission Python hooks (python
mode, or routed by a hybrid policy) and complete_batch with the completions
it hooks. A hook's io is its index in the batch (spdk_py._runtime.bdev_io).
A submit hook's result says what C does with the I/O once the batch is back:
None, it goes on to the base (C forwards it, from its bounce buffer if the
hook filled one); an IoStatus, it completes with it; a Later, the hook keeps
it. C holds every status at FAILED until the batch writes them back in one
memmove at its end, so whatever escapes fails the I/Os, and only them.
"""

from __future__ import annotations

import inspect
from array import array
from typing import Any, Callable, Optional

from spdk_py._runtime import bdev_io, completion, handles, log, vbdev_registry
from spdk_py._runtime.bdev import FAILED, io_types
from spdk_py._runtime.binding import binding
from spdk_py._runtime.hook_tasks import KEPT, CoroutineType, HookTasks
from spdk_py._runtime.io_counts import Counted, IoCounts
from spdk_py._runtime.io_errors import bad_result, io_exception
from spdk_py._runtime.later import Later
from spdk_py._runtime.shared import read_by_every_reactor, read_by_every_reactor_code
from spdk_py._runtime.tasks import Future, then
from spdk_py._runtime.thread import Local

_INT_SIZE = array("i").itemsize


def defines(obj: Any, attr: str) -> bool:
    """Whether obj's class defines hook attr, as C should see it: not the
    framework's own class (a marker `_framework` in its body: "base"), and a
    port's forwarding ("port": PassthruVbdev's) only for the port itself,
    never inherited by a module built on it."""
    cls = type(obj)
    owner = next((k for k in cls.__mro__ if attr in vars(k)), None)
    if owner is None:
        return False
    kind = vars(owner).get("_framework")
    return kind is None or (kind == "port" and owner is cls)


class VbdevEngine(Counted):
    def __init__(self, owner: Any, name: str, mode: str) -> None:
        ffi, lib = binding.require()
        self.owner = read_by_every_reactor(owner)
        read_by_every_reactor(self)
        read_by_every_reactor_code(type(owner))  # (its hooks' globals, enums, methods)
        self.name = name
        self.counts = IoCounts(lib.SPDK_PY_NUM_IO_TYPES)
        self.node: Any = lib.spdk_py_vbdev_alloc(name.encode(), owner.product_name.encode(),
                                                 handles.keep(self))
        if self.node == ffi.NULL:
            handles.release(self)
            raise MemoryError("could not allocate vbdev %s" % name)
        self.node.count_stats = True
        self.node.latency_hist = bool(owner.latency_histogram)
        self.node.timeout_us = int(owner.timeout_ms * 1000)
        self.mode = mode
        # A batch's statuses, all "go on to the base", copied into C in one memmove.
        self._forwards = array("i", [lib.SPDK_PY_STATUS_FORWARD] * lib.SPDK_PY_BATCH).tobytes()
        self._statuses = frozenset(
            getattr(lib, "SPDK_BDEV_IO_STATUS_" + s) for s in ("SUCCESS", "FAILED", "ABORTED",
                                                              "MISCOMPARE", "NOMEM"))
        defer = lib.spdk_py_vbdev_defer
        self.hook_tasks = HookTasks(self, lambda io: defer(bdev_io.bdev_io(io), True),
                                    lib.SPDK_PY_STATUS_FORWARD, self._statuses)
        self.bind_hooks()

    # Hooks.
    def _hooks(self, generic: str, prefix: str) -> tuple[list, int, bool]:
        """(bound hook by I/O type or None where C does it, their types as a bit
        mask, whether the hook is the generic one)."""
        owner, num_types = self.owner, self.counts.num_types
        if defines(owner, generic):
            return [getattr(owner, generic)] * num_types, (1 << num_types) - 1, True
        hooks: list[Optional[Callable]] = [None] * num_types
        for name, t in io_types().items():
            if t < num_types and defines(owner, "%s_%s" % (prefix, name)):
                hooks[t] = getattr(owner, "%s_%s" % (prefix, name))
        return hooks, sum(1 << t for t, hook in enumerate(hooks) if hook is not None), False

    def bind_hooks(self) -> None:
        """Tell C which I/O types Python hooks; again after the class changes (reload)."""
        self._submit_hooks, submit_mask, self._submit_generic = self._hooks("submit_request",
                                                                           "submit")
        self._complete_hooks, complete_mask, self._complete_generic = self._hooks("complete_io",
                                                                                 "complete")
        if any(inspect.iscoroutinefunction(h) for h in self._complete_hooks if h):
            raise TypeError("%s: a completion hook cannot be async def (it runs as the base "
                            "completes; only submit hooks may wait)" % type(self.owner).__name__)
        self.async_hooks = any(inspect.iscoroutinefunction(h) for h in self._submit_hooks if h)
        # Each thread binds its own (a new Local: a reload rebinds every thread).
        self._bound = Local(self._bind_here)
        self.node.submit_types = submit_mask
        self.node.complete_types = complete_mask
        if defines(self.owner, "memory_domains"):
            self.node.memory_domains = bool(self.owner.memory_domains)
        else:
            self.node.memory_domains = not (submit_mask or complete_mask)

    def _bind_here(self) -> tuple[list, list]:
        """This thread's own bound hooks, submit's and complete's: one bound
        method object shared by the reactors has its count written by each,
        per I/O, on a free-threaded CPython (a list item is a real reference)."""
        return self._hooks("submit_request", "submit")[0], self._hooks("complete_io", "complete")[0]

    # The batches C hands over.
    def submit_batch(self, ios: Any, types: Any, statuses: Any, n: int) -> None:
        ffi = binding.ffi
        kinds = ffi.unpack(types, n)
        seen = self.counts.here()
        for t in set(kinds):
            seen[t] += kinds.count(t)
        hooks, generic, valid = self._bound.get()[0], self._submit_generic, self._statuses
        odd = {}  # index: a status other than "go on"
        saved = bdev_io.enter(ios, n)
        if self.async_hooks:
            self.hook_tasks.begin()
        try:
            for i in range(n):
                io_type = kinds[i]
                hook = hooks[io_type]
                if hook is None:  # C's to forward (it was queued while Python paused)
                    continue
                try:
                    result = hook(i, io_type) if generic else hook(i)
                    if type(result) is CoroutineType:  # async: its first step, or its task
                        result = self.hook_tasks.run(result, i, io_type, hook.__name__)
                except Exception as exc:
                    odd[i] = FAILED
                    io_exception(self, hook.__name__, io_type, exc)
                    continue
                if result is None or result is KEPT or type(result) is Later:
                    continue
                if type(result) is bool or result not in valid:
                    odd[i] = FAILED
                    bad_result(self, hook.__name__, io_type, result)
                    continue
                odd[i] = int(result)
        finally:
            self.hook_tasks.end()
            bdev_io.leave(saved)
        ffi.memmove(statuses, self._forwards, n * _INT_SIZE)
        for i, status in odd.items():
            statuses[i] = status

    def complete_batch(self, ios: Any, types: Any, statuses: Any, n: int) -> None:
        hooks, generic = self._bound.get()[1], self._complete_generic
        saved = bdev_io.enter(ios, n)
        try:
            for i in range(n):
                io_type = types[i]
                hook = hooks[io_type]
                if hook is None:
                    continue
                try:
                    status = hook(i, io_type, statuses[i]) if generic else hook(i, statuses[i])
                    if status is not None:
                        statuses[i] = status
                except Exception as exc:
                    statuses[i] = FAILED
                    io_exception(self, hook.__name__, io_type, exc)
        finally:
            bdev_io.leave(saved)

    def later(self, io: int) -> Later:
        """Keep io past its submit hook; a Later to complete (or send on) it with."""
        lib = binding.lib
        ticket = lib.spdk_py_vbdev_defer(bdev_io.bdev_io(io), False)
        if not ticket:
            raise RuntimeError("%s: this I/O cannot be kept (taken already, or no memory)"
                               % self.name)
        return Later(ticket, self.name, binding.ffi.NULL, lib.SPDK_PY_STATUS_FORWARD)

    # What C asks of the vbdev.
    @property
    def mode(self) -> str:
        return "hybrid" if self.node.mode == binding.lib.SPDK_PY_MODE_HYBRID else "python"

    @mode.setter
    def mode(self, mode: str) -> None:
        lib = binding.lib
        self.node.mode = lib.SPDK_PY_MODE_HYBRID if mode == "hybrid" else lib.SPDK_PY_MODE_PYTHON

    def route(self, type_mask: int, lba_start: int, lba_end: int) -> None:
        """Hybrid mode's policy: the types, and any I/O touching [start, end), to Python."""
        node = self.node
        # Types off first: no I/O sees the new range with the old types.
        node.route_types = 0
        node.route_lba_start, node.route_lba_end = lba_start, lba_end
        node.route_types = type_mask

    @property
    def counting(self) -> bool:
        return bool(self.node.count_stats)

    @counting.setter
    def counting(self, on: bool) -> None:
        self.node.count_stats = on

    def forwardable(self, io_type: int) -> bool:
        """Whether C forwards io_type to a base (this SPDK's calls: spdk_compat.h)."""
        lib = binding.lib
        if io_type == lib.SPDK_BDEV_IO_TYPE_COMPARE:
            return bool(lib.SPDK_PY_FORWARDS_COMPARE)
        optional = {"COPY": "SPDK_PY_HAVE_COPY", "NVME_IOV_MD": "SPDK_PY_HAVE_NVME_IOV_MD"}
        for name, have in optional.items():
            if io_type == getattr(lib, "SPDK_BDEV_IO_TYPE_" + name, -1):
                return bool(getattr(lib, have))
        return io_type in {getattr(lib, "SPDK_BDEV_IO_TYPE_" + name) for name in (
            "READ", "WRITE", "WRITE_ZEROES", "UNMAP", "FLUSH", "RESET", "ZCOPY", "ABORT",
            "NVME_ADMIN", "NVME_IO", "NVME_IO_MD")}

    def base_supports(self, io_type: int) -> bool:
        """The base's answer, for a type C forwards: advertising one it cannot
        forward would fail every such I/O."""
        return self.forwardable(io_type) and bool(
            binding.lib.spdk_bdev_io_type_supported(self.node.base_bdev, io_type))

    def io_type_supported(self, io_type: int) -> bool:
        return bool(self.owner.io_type_supported(io_type))

    @property
    def bdev(self) -> Any:
        """The struct spdk_bdev * this vbdev registers."""
        return binding.ffi.addressof(self.node.bdev)

    @property
    def base_name(self) -> str:
        return binding.ffi.string(binding.lib.spdk_bdev_get_name(self.node.base_bdev)).decode()

    def dump_info(self) -> Any:
        return self.owner.dump_info()

    # Statistics.
    def collect(self, counters: bool = False) -> Future:
        """A Future of a struct spdk_py_stats summed over every channel, each
        read on its own thread; the per-type counters are whole only with
        counters (the bdev layer's reads, writes and unmaps added in)."""
        ffi, lib = binding.require()
        out = ffi.new("struct spdk_py_stats *")
        return then(completion.call_ok("collecting %s's statistics" % self.name,
                                       lib.spdk_py_vbdev_collect_stats, self.node, out, counters),
                    lambda _: out)

    def collect_stats(self) -> Future:
        """A Future of the per-type figures (spdk_py.vbdev.Vbdev.collect_stats)."""
        buckets = binding.lib.SPDK_PY_HIST_BUCKETS

        def figures(out: Any) -> dict[str, Any]:
            stats: dict[str, Any] = {}
            for name, t in io_types().items():
                if t >= self.counts.num_types:
                    continue
                s = out.by_type[t]
                if s.ios or s.nomem_queued:
                    stats[name] = {"ios": s.ios, "blocks": s.blocks, "errors": s.errors,
                                   "latency_ticks": s.latency_ticks,
                                   "latency_samples": s.latency_samples,
                                   "nomem_queued": s.nomem_queued}
                    if self.owner.latency_histogram:
                        stats[name]["latency_hist"] = list(
                            out.latency_hist[t * buckets:(t + 1) * buckets])
            return stats
        return then(self.collect(counters=True), figures)

    # Lifetime.
    def destruct(self) -> int:
        """C's call: the bdev layer unregisters the vbdev (a delete, its base
        removed, the app stopping); the author's close() then."""
        rc = vbdev_registry.destruct(self.owner)
        self._close()
        return rc

    def _close(self) -> None:
        """The author's close(): what it raises is logged, never C's."""
        try:
            self.owner.close()
        except Exception as exc:
            log.error("%s: close raised %r" % (self.name, exc))

    def shutdown(self) -> None:
        """The app stops: what the hooks keep fails now, not at its timeout."""
        self.hook_tasks.cancel_all("cancelled: the app is stopping")
        binding.lib.spdk_py_vbdev_shutdown(self.node)

    def released(self) -> None:
        """C's call: the C side is gone; nothing will call into this engine again."""
        handles.release(self)

    def free(self) -> None:
        """Undo __init__ on a vbdev that was never registered (its author's
        object closed too)."""
        self._close()
        binding.lib.spdk_py_vbdev_free(self.node)
        self.node = binding.ffi.NULL
        handles.release(self)


def live() -> list:
    """The vbdevs (their authors' objects) C may still call into."""
    return [engine.owner for engine in handles.kept(VbdevEngine)]
