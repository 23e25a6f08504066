"""A Python disk's machinery: its C struct (struct spdk_py_disk), the hooks
it advertises, and the batches C hands Python. The author's object (a
spdk_py.disk.Disk) defines hooks; C holds a handle to this engine.

C's poller hands a batch of up to 128 I/Os per call with the scalars and
the data buffer of each (a read gets its buffer first); each I/O goes to its
hook, or, for a disk that routes to bases (spdk_py.base_bdevs), to the bases
route() names. Statuses (or routes) go back in one memmove at the batch's
end: until then C holds every status at FAILED, so whatever escapes fails
the I/Os, and only them. A hook's io is its index in the batch.
"""

from __future__ import annotations

import inspect
from array import array
from typing import Any, Optional

from spdk_py._runtime import bdev_io, completion, handles
from spdk_py._runtime.bdev import (COMPARE, FAILED, FLUSH, READ, RESET, SUCCESS, UNMAP, WRITE,
                                   WRITE_ZEROES, io_type_name)
from spdk_py._runtime.binding import binding
from spdk_py._runtime.hook_tasks import KEPT, RETURNED, CoroutineType, HookTasks, returned
from spdk_py._runtime.io_counts import Counted, IoCounts
from spdk_py._runtime.io_errors import bad_result, io_exception
from spdk_py._runtime.later import Later
from spdk_py._runtime.shared import read_by_every_reactor, read_by_every_reactor_code
from spdk_py._runtime.tasks import Future, then
from spdk_py._runtime.thread import Local

HOOKS = {READ: "read", WRITE: "write", COMPARE: "compare", FLUSH: "flush", UNMAP: "unmap",
         WRITE_ZEROES: "write_zeroes", RESET: "reset"}
_DATA_TYPES = frozenset((READ, WRITE, COMPARE))
# What a disk without the hook succeeds doing nothing (spdk_py.disk's docstring).
_HINTS = frozenset((RESET, UNMAP))
_INT_SIZE = array("i").itemsize


def _addresses(array: Any) -> Any:
    """A C array of pointers as addresses: ints unpack faster than cdata."""
    return binding.ffi.cast("uintptr_t *", array)


def defines(obj: Any, attr: str) -> bool:
    """Whether obj defines hook attr: not the framework's own class (its
    body says `_framework`), and not set to None for this disk."""
    owner = next((k for k in type(obj).__mro__ if attr in vars(k)), None)
    return owner is not None and "_framework" not in vars(owner) \
        and getattr(obj, attr, None) is not None


class DiskEngine(Counted):
    def __init__(self, owner: Any) -> None:
        ffi, lib = binding.require()
        self.owner = read_by_every_reactor(owner)
        read_by_every_reactor(self)
        read_by_every_reactor_code(type(owner))  # (its hooks' globals, enums, methods)
        self.name = owner.name
        self.counts = IoCounts(lib.SPDK_PY_NUM_IO_TYPES)
        self.deleting = False
        # What the registry does when the bdev layer, then C, let go of the disk.
        self.on_destruct: Any = lambda engine: None
        self.on_released: Any = lambda engine: None
        # Buffers over I/O data by address, per thread: each reactor's own.
        self._views: Local[dict[int, Any]] = Local(dict)
        # A batch's statuses, all SUCCESS, copied into C in one memmove.
        self._successes = array("i", [SUCCESS] * lib.SPDK_PY_BATCH).tobytes()
        self._statuses = frozenset(
            getattr(lib, "SPDK_BDEV_IO_STATUS_" + s) for s in ("SUCCESS", "FAILED", "ABORTED",
                                                              "MISCOMPARE", "NOMEM"))
        self.node: Any = lib.spdk_py_disk_alloc(self.name.encode(),
                                                owner.product_name.encode(), handles.keep(self))
        if self.node == ffi.NULL:
            handles.release(self)
            raise MemoryError("could not allocate disk %s" % self.name)
        keep = lib.spdk_py_disk_keep
        self.hook_tasks = HookTasks(self, lambda io: keep(bdev_io.bdev_io(io)), SUCCESS,
                                    self._statuses)
        self.bind_hooks()

    def bind_hooks(self) -> None:
        """Tell C what the disk advertises; again after its class changes (reload)."""
        owner = self.owner
        self._hooks: list[Any] = [None] * self.counts.num_types
        mask = 0
        for io_type, name in HOOKS.items():
            if defines(owner, name):
                self._hooks[io_type] = getattr(owner, name)
                mask |= 1 << io_type
        self.node.hooks = mask
        self.node.io_types = mask | 1 << RESET  # every disk resets (spdk_py.disk)
        self.node.timeout_us = int(owner.timeout_ms * 1000)
        # A task of an async hook runs on its I/O's thread: no batch is handed over.
        self.async_hooks = any(inspect.iscoroutinefunction(h) for h in self._hooks if h)
        self.node.async_hooks = self.async_hooks
        # A disk over bases that routes I/O to them in C (spdk_py.base_bdevs).
        self._route = getattr(owner, "route", None)
        self.node.routes = self._route is not None
        # Each thread binds its own (a new Local: a reload rebinds every thread).
        self._bound = Local(self._bind_here)
        self.node.off_reactor = bool(owner.off_reactor)

    def io_types(self) -> list[str]:
        """The I/O types the disk advertises."""
        mask = self.node.io_types
        return [io_type_name(t).lower() for t in range(len(self._hooks)) if mask >> t & 1]

    # The batches C hands over.
    def later(self, io: int) -> Later:
        """Keep io past its hook; complete it with the Later, from any thread."""
        ffi, lib = binding.ffi, binding.lib
        buf = ffi.new("struct spdk_py_later_buf **")
        ticket = lib.spdk_py_disk_defer(bdev_io.bdev_io(io), buf)
        if not ticket:
            raise RuntimeError("%s: this I/O cannot be kept (completed already, or no memory)"
                               % self.name)
        return Later(ticket, self.name, buf[0], SUCCESS)

    def _bind_here(self) -> tuple[list, Any]:
        """This thread's own bound hooks and route: one bound method object
        shared by the reactors has its count written by each, per I/O or
        batch, on a free-threaded CPython."""
        owner = self.owner
        return ([getattr(owner, HOOKS[t]) if hook is not None else None
                 for t, hook in enumerate(self._hooks)],
                getattr(owner, "route", None) if self._route is not None else None)

    def run_batch(self, ios: Any, types: Any, offsets: Any, nblocks: Any, bases: Any,
                  lens: Any, statuses: Any, routes: Any, n: int) -> None:
        """A batch of I/Os, each routed to bases (a disk with a route hook) or
        to its hook; statuses, or routes, out. Each array is read in one call
        and written back in one, and only what the I/Os use is read: per I/O,
        cffi indexing or a large int costs as much as a hook's own work."""
        ffi = binding.ffi
        unpack = ffi.unpack
        hooks, route = self._bound.get()
        routed = None
        kinds, starts = unpack(types, n), unpack(offsets, n)
        seen, present = self.counts.here(), set(kinds)
        for io_type in present:
            seen[io_type] += kinds.count(io_type)
        # What each I/O needs in one call; what only some need, indexed.
        if route is None:
            datas, sizes, counts = unpack(_addresses(bases), n), unpack(lens, n), nblocks
        else:  # route sees every count; a hook, only the I/Os left to it
            datas, sizes, counts = _addresses(bases), lens, unpack(nblocks, n)
            routed = [0] * n
        odd: dict[int, int] = {}  # index: a status other than SUCCESS
        saved = bdev_io.enter(ios, n)
        if self.async_hooks:
            self.hook_tasks.begin()
        try:
            kind = kinds[0]
            if route is None and len(present) == 1 and kind in _DATA_TYPES and hooks[kind]:
                self._run_data(hooks[kind], kind, starts, datas, sizes, odd)
            else:
                self._run_mixed(hooks, route, kinds, starts, counts, datas, sizes, routed, odd)
        finally:
            self.hook_tasks.end()
            bdev_io.leave(saved)
        if routed is not None:
            routes[0:n] = routed
        # Last: until here C holds every status at FAILED, should this raise.
        ffi.memmove(statuses, self._successes, n * _INT_SIZE)
        for i, status in odd.items():
            statuses[i] = status

    def _note(self, odd: dict[int, int], i: int, hook: Any, io_type: int, result: Any) -> None:
        """A hook's result other than None, into the batch's odd statuses (an
        async hook's: its first step's, or its task's to come)."""
        if type(result) is CoroutineType:
            result = self.hook_tasks.run(result, i, io_type, hook.__name__)
            if result is None:
                return
        if type(result) is Later or result is KEPT:
            return
        if type(result) is bool or result not in self._statuses:
            odd[i] = FAILED
            bad_result(self, hook.__name__, io_type, result)
            return
        odd[i] = int(result)

    def _run_mixed(self, hooks: list, route: Any, kinds: list, starts: list, counts: Any,
                   datas: Any, sizes: Any, routed: Optional[list], odd: dict[int, int]) -> None:
        """Each I/O to the bases route() names (routed, for a disk with a
        route hook) or to its hook."""
        bs = self.owner.block_size
        views = self._views.get()
        view = views.get
        # Locals, not globals, per I/O: on 3.14t a global's count is written
        # by every reactor that loads it (its cache line bounces).
        data_types, hints = _DATA_TYPES, _HINTS
        for i in range(len(kinds)):
            io_type = kinds[i]
            if route is not None:
                assert routed is not None
                try:
                    slots = route(io_type, starts[i], counts[i])
                except Exception as exc:
                    odd[i] = FAILED
                    io_exception(self, "route", io_type, exc)
                    continue
                if slots:
                    routed[i] = slots
                    continue
            hook = hooks[io_type]
            if hook is None:
                # route() left it to a hook there is not: a reset or unmap
                # then has nothing to do (spdk_py.disk's docstring).
                if io_type not in hints:
                    odd[i] = FAILED
                continue
            try:
                if io_type in data_types:
                    address, size = datas[i], sizes[i]
                    buf = view(address)
                    if buf is None or len(buf) != size:
                        buf = self._view(views, address, size)
                    result = hook(i, starts[i] * bs, buf)
                elif io_type == RESET:
                    result = hook(i)
                else:
                    result = hook(i, starts[i] * bs, counts[i] * bs)
                if result is not None:
                    self._note(odd, i, hook, io_type, result)
            except Exception as exc:
                odd[i] = FAILED
                io_exception(self, hook.__name__, io_type, exc)

    def _run_data(self, hook: Any, kind: int, starts: list, datas: list, sizes: list,
                  odd: dict[int, int]) -> None:
        """A batch of one type with data (all reads, say: what a workload
        sends), with nothing to decide per I/O."""
        bs, tasks, views = self.owner.block_size, self.hook_tasks, self._views.get()
        view = views.get
        slot = None  # this thread's async batch state, once a hook is async
        for i in range(len(starts)):
            address = datas[i]
            buf = view(address)
            if buf is None or len(buf) != sizes[i]:
                buf = self._view(views, address, sizes[i])
            try:
                result = hook(i, starts[i] * bs, buf)
                if type(result) is CoroutineType:  # an async hook, up to its first wait
                    if slot is None:
                        slot = tasks.begin()
                    yielded = slot.drive(result)
                    if yielded is RETURNED:
                        continue  # it returned None
                    result = returned(yielded)
                    if result is RETURNED:  # it waits: a task goes on with it
                        result = tasks.adopt(slot, yielded, i, kind, hook.__name__)
            except Exception as exc:
                if slot is not None:
                    tasks.renew(slot)
                odd[i] = FAILED
                io_exception(self, hook.__name__, kind, exc)
                continue
            if result is not None:
                self._note(odd, i, hook, kind, result)

    @staticmethod
    def _view(views: dict[int, Any], address: int, size: int) -> Any:
        """A buffer over an I/O's data, kept by address: an app reuses its
        buffers, and making one costs as much as a RAM disk's hook. Only an
        I/O that names the address again uses it, for as long as its hook
        runs (a hook that keeps data past that copies it, or takes a Later)."""
        if len(views) >= 4096:
            views.clear()
        ffi = binding.ffi
        buf = views[address] = ffi.buffer(ffi.cast("void *", address), size)
        return buf

    # Routing to bases (spdk_py.base_bdevs).
    def bind_bases(self, table: Any) -> None:
        """C's call, on an SPDK thread: this thread's channel of each usable base."""
        for slot, channel in self.owner.routing_channels():
            table[slot] = channel.ptr

    def bases_failed(self, slots: int, status: int) -> None:
        """C's call: routed children failed on these bases."""
        self.owner.bases_failed(slots, status)

    # What C asks of the disk.
    def dump_info(self) -> tuple[str, dict[str, Any]]:
        owner = self.owner
        info = {"plugin": owner.plugin, "params": owner.params, "timeout_ms": owner.timeout_ms,
                "io_types": self.io_types(), "off_reactor": bool(owner.off_reactor)}
        info.update(owner.info() or {})
        return "python_disk", info

    def collect(self) -> Future:
        """A Future of {max_stall_us, max_python_thread_wait_us, timed_out,
        pending, handed_batches}, read on every channel."""
        ffi, lib = binding.require()
        out = ffi.new("struct spdk_py_disk_stats *")

        def figures(_: Any) -> dict[str, Any]:
            us = 1e6 / lib.spdk_get_ticks_hz()
            return {"max_stall_us": out.stall_ticks * us,
                    "max_python_thread_wait_us": out.python_wait_ticks * us,
                    "timed_out": out.timed_out, "pending": out.pending,
                    "handed_batches": out.handed_batches}
        return then(completion.call_ok("collecting %s's figures" % self.name,
                                       lib.spdk_py_disk_collect, self.node, out), figures)

    def destruct(self) -> int:
        """C's call: the bdev layer is done with the disk (deleted, or the app
        stops). Its plugin closes now, what it opened with it (a disk over
        bases lets them go before the bdev layer unregisters them)."""
        self.on_destruct(self)
        binding.lib.spdk_py_disk_io_device_unregister(self.node)
        return 0

    def shutdown(self) -> None:
        """The app stops: what the hooks keep fails now, not at its timeout."""
        self.hook_tasks.cancel_all("cancelled: the app is stopping")
        binding.lib.spdk_py_disk_shutdown(self.node)

    def released(self) -> None:
        """C's call: the disk's channels are gone; its C struct is freed when
        this returns."""
        self.on_released(self)
        handles.release(self)
        self.node = None  # what still runs (a base's late event) must not touch it

    def discard(self) -> None:
        """A disk that was never registered: its C struct freed."""
        binding.lib.spdk_py_disk_free(self.node)
        self.node = None
        handles.release(self)
