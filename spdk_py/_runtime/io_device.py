"""An SPDK io_device of Python's: state per SPDK thread and
spdk_for_each_channel over it (spdk_py.io_device documents it)."""

from __future__ import annotations


import traceback
from typing import Any, Callable, Optional

from spdk_py._runtime import handles, log, thread
from spdk_py._runtime.binding import binding
from spdk_py._runtime.completion import cancel, waiter
from spdk_py._runtime.tasks import Future, new_future


class IoDevice:
    """Per-thread state (channels) of an io_device of Python's; see spdk_py.io_device."""

    def __init__(self, name: str, create_channel: Callable[[], Any],
                 destroy_channel: Optional[Callable[[Any], Any]] = None) -> None:
        ffi, lib = binding.require()
        self.name = name
        self.create_channel = create_channel
        self.destroy_channel = destroy_channel
        self.thread = thread.current()
        self._states: dict[int, Any] = {}  # channel key (its context's address) -> state
        self._held: dict[int, tuple[Any, int]] = {}  # thread id -> (spdk_io_channel, key)
        self._unregistered: Optional[Future] = None
        self.ptr: Any = lib.spdk_py_io_device_register(name.encode(), handles.keep(self))
        if self.ptr == ffi.NULL:
            handles.release(self)
            raise MemoryError("cannot register io_device %s" % name)

    def channel(self) -> Any:
        """This thread's state (its channel is taken the first time, and kept)."""
        ffi, lib = binding.require()
        here = thread.current()
        held = self._held.get(here.id)
        if held is None:
            if self._unregistered is not None:
                raise RuntimeError("io_device %s is being unregistered" % self.name)
            ch = lib.spdk_get_io_channel(self.ptr)
            if ch == ffi.NULL:
                raise MemoryError("no channel of io_device %s on %s" % (self.name, here.name))
            held = self._held[here.id] = (ch, _key(lib.spdk_py_io_channel_ctx(ch)))
        return self._states[held[1]]

    def put_channel(self) -> None:
        """Give this thread's channel back (destroy_channel runs once the last
        holder on this thread has)."""
        held = self._held.pop(thread.current().id, None)
        if held is not None:
            binding.lib.spdk_put_io_channel(held[0])

    def channel_event(self, key: Any, create: bool) -> int:
        """C's call, on the channel's thread: 0, or -1 if create_channel raised."""
        key = _key(key)
        if create:
            try:
                self._states[key] = self.create_channel()
            except Exception:
                log.error("io_device %s: create_channel raised:\n%s"
                          % (self.name, traceback.format_exc()))
                return -1
            return 0
        state = self._states.pop(key, None)
        if self.destroy_channel is not None:
            try:
                self.destroy_channel(state)
            except Exception:
                log.error("io_device %s: destroy_channel raised:\n%s"
                          % (self.name, traceback.format_exc()))
        return 0

    def for_each_channel(self, fn: Callable[[Any], Any]) -> Future:
        """fn(state) on each channel's thread; a Future (of the walk's status:
        0, or what stopped it) done on the device's thread."""
        future = new_future()
        if thread.current() != self.thread:
            self.thread.send(lambda: self._walk(fn, future))
        else:
            self._walk(fn, future)
        return future

    def _walk(self, fn: Callable[[Any], Any], future: Future) -> None:
        ffi, lib = binding.require()
        walk = _Walk(self, fn)

        def done(rc: int) -> None:
            handles.release(walk)
            future.set_result(rc)
        cb_arg = waiter(done)
        rc = lib.spdk_py_io_device_for_each_channel(self.ptr, handles.keep(walk), cb_arg)
        if rc != 0:
            cancel(cb_arg)
            handles.release(walk)
            future.set_exception(OSError(-rc, "for_each_channel of %s refused" % self.name))

    def unregister(self) -> Future:
        """Unregister once every channel is put; a Future done then. Again:
        the same Future."""
        if self._unregistered is not None:
            return self._unregistered
        self._unregistered = new_future()

        def here() -> None:
            binding.lib.spdk_py_io_device_unregister(self.ptr, waiter(lambda rc: self._gone()))
        if thread.current() != self.thread:
            self.thread.send(here)
        else:
            here()
        return self._unregistered

    def _gone(self) -> None:
        self.ptr = None
        handles.release(self)
        assert self._unregistered is not None
        self._unregistered.set_result(None)

    def __repr__(self) -> str:
        return "<IoDevice %s>" % self.name


class _Walk:
    """One for_each_channel: C calls run(key) on each channel's thread."""

    def __init__(self, device: IoDevice, fn: Callable[[Any], Any]) -> None:
        self.device = device
        self.fn = fn

    def run(self, key: Any) -> int:
        try:
            return 1 if self.fn(self.device._states[_key(key)]) else 0
        except Exception:
            log.error("for_each_channel of io_device %s: %r raised:\n%s"
                      % (self.device.name, self.fn, traceback.format_exc()))
            return -1


def _key(ptr: Any) -> int:
    return int(binding.ffi.cast("uintptr_t", ptr))
