"""An SPDK io_device of Python's: state per SPDK thread, made where it is
first wanted, and spdk_for_each_channel over it (spdk-rs's IoDevice).

    from spdk_py.io_device import IoDevice

    stats = IoDevice("mystats", create_channel=lambda: {"ios": 0})
    stats.channel()["ios"] += 1            # this thread's state (spdk_get_io_channel)
    totals = []
    await stats.for_each_channel(lambda state: totals.append(state["ios"]))
    stats.put_channel()                    # on each thread that took one
    await stats.unregister()               # once every channel is put

create_channel() runs on the thread that first asks for a channel and its
result is that thread's state until the channel is put (destroy_channel(state)
then, on that thread). for_each_channel(fn) calls fn(state) on each channel's
thread in turn (a true return value stops the walk) and is a Future done back
on the device's thread. The device belongs to the thread that made it:
for_each_channel and unregister are sent there from elsewhere.
"""

import traceback

from spdk_py import log, thread
from spdk_py._runtime.binding import binding
from spdk_py._runtime.waiters import cancel, waiter
from spdk_py.coroutine import Future

# Devices C may still call, by their handles.
live = set()


class IoDevice:
    def __init__(self, name, create_channel, destroy_channel=None):
        ffi, lib = binding.require()
        self.name = name
        self.create_channel = create_channel
        self.destroy_channel = destroy_channel
        self.thread = thread.current()
        self._states = {}   # channel key (its context's address) -> state
        self._held = {}     # SPDK thread id -> (spdk_io_channel, key), taken by channel()
        self._walks = set()
        self._unregistered = None
        self._handle = ffi.new_handle(self)
        self.ptr = lib.spdk_py_io_device_register(name.encode(), self._handle)
        if self.ptr == ffi.NULL:
            raise MemoryError("cannot register io_device %s" % name)
        live.add(self)

    def channel(self):
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

    def put_channel(self):
        """Give this thread's channel back (destroy_channel runs once the last
        holder on this thread has)."""
        held = self._held.pop(thread.current().id, None)
        if held is not None:
            binding.lib.spdk_put_io_channel(held[0])

    def channel_event(self, key, create):
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

    def for_each_channel(self, fn):
        """fn(state) on each channel's thread; a Future (of the walk's status:
        0, or what stopped it) done on the device's thread."""
        future = Future()
        if thread.current() != self.thread:
            self.thread.send(lambda: self._walk(fn, future))
        else:
            self._walk(fn, future)
        return future

    def _walk(self, fn, future):
        ffi, lib = binding.require()
        walk = _Walk(self, fn)
        self._walks.add(walk)

        def done(rc):
            self._walks.discard(walk)
            future.set_result(rc)
        cb_arg = waiter(done)
        rc = lib.spdk_py_io_device_for_each_channel(self.ptr, walk.handle, cb_arg)
        if rc != 0:
            cancel(cb_arg)
            self._walks.discard(walk)
            future.set_exception(OSError(-rc, "for_each_channel of %s refused" % self.name))

    def unregister(self):
        """Unregister once every channel is put; a Future done then. Again:
        the same Future."""
        if self._unregistered is not None:
            return self._unregistered
        self._unregistered = Future()

        def here():
            binding.lib.spdk_py_io_device_unregister(self.ptr, waiter(lambda rc: self._gone()))
        if thread.current() != self.thread:
            self.thread.send(here)
        else:
            here()
        return self._unregistered

    def _gone(self):
        self.ptr = None
        live.discard(self)
        self._unregistered.set_result(None)

    def __repr__(self):
        return "<IoDevice %s>" % self.name


class _Walk:
    """One for_each_channel: C calls run(key) on each channel's thread."""

    def __init__(self, device, fn):
        self.device = device
        self.fn = fn
        self.handle = binding.ffi.new_handle(self)

    def run(self, key):
        try:
            return 1 if self.fn(self.device._states[_key(key)]) else 0
        except Exception:
            log.error("for_each_channel of io_device %s: %r raised:\n%s"
                      % (self.device.name, self.fn, traceback.format_exc()))
            return -1


def _key(ptr):
    return int(binding.ffi.cast("uintptr_t", ptr))
