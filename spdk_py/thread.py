"""SPDK threads from Python: the current thread, pollers, timers and messages.

Everything here runs Python on an SPDK thread (a reactor's) and never blocks
it. A poller or timer runs on the thread that registered it; a message runs
on the thread it is sent to; each is stopped on its own thread.

    from spdk_py import thread

    here = thread.current()                       # this SPDK thread
    p = thread.Poller(lambda: do_work(), period_us=1000)
    p.unregister()                                # on the same thread
    thread.call_later(500_000, lambda: print("half a second later"))
    here.send(lambda: print("back on", here.name))   # from any thread, a worker's too
    result = await other.run(some_async_fn, arg)  # on another thread; awaited here
    await thread.sleep(1000)                      # in a coroutine (spdk_py.coroutine)
    await thread.for_each_thread(lambda: print(thread.current().name))

Per-thread state and spdk_for_each_channel over it: spdk_py.io_device.
"""

import inspect
import traceback

from spdk_py import log
from spdk_py._runtime.binding import binding
from spdk_py._runtime.waiters import cancel, waiter
from spdk_py.coroutine import Future, spawn


class NotOnSpdkThread(RuntimeError):
    """Called where SPDK has no thread (a worker, the CLI)."""


class Thread:
    """One SPDK thread (spdk_thread), named by its id: a handle, compared by id."""

    __slots__ = ("id", "name")

    def __init__(self, thread_id, name):
        self.id = thread_id
        self.name = name

    def _ptr(self):
        ffi, lib = binding.require()
        ptr = lib.spdk_thread_get_by_id(self.id)
        if ptr == ffi.NULL:
            raise LookupError("SPDK thread %s (%d) has exited" % (self.name, self.id))
        return ptr

    def send(self, fn, *args):
        """Run fn(*args) on this thread, soon; from any thread, SPDK's or not.
        What fn raises is logged there."""
        _, lib = binding.require()
        cb_arg = waiter(lambda rc: _call("message to %s" % self.name, fn, *args))
        rc = lib.spdk_py_thread_send(self._ptr(), cb_arg)
        if rc != 0:
            cancel(cb_arg)
            raise OSError(-rc, "cannot send a message to SPDK thread %s" % self.name)

    def run(self, fn, *args):
        """Run fn(*args) on this thread, and if it returns a coroutine, run that
        there as a task; a Future of the outcome, done back on the calling
        SPDK thread. The way to do work on another reactor and await it."""
        back = current()
        future = Future()

        def settle(result, exc):
            if exc is None:
                future.set_result(result)
            else:
                future.set_exception(exc)

        def finished(task):
            exc = task.exception()
            back.send(settle, None if exc is not None else task.result(), exc)

        def there():
            try:
                result = fn(*args)
            except Exception as exc:
                back.send(settle, None, exc)
                return
            if inspect.iscoroutine(result):
                spawn(result).add_done_callback(finished)
            else:
                back.send(settle, result, None)

        self.send(there)
        return future

    def __eq__(self, other):
        return isinstance(other, Thread) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return "<spdk thread %s (%d)>" % (self.name, self.id)


def _call(what, fn, *args):
    try:
        fn(*args)
    except Exception:
        log.error("%s raised:\n%s" % (what, traceback.format_exc()))


def current():
    """The SPDK thread running this code; NotOnSpdkThread elsewhere."""
    ffi, lib = binding.require()
    ptr = lib.spdk_get_thread()
    if ptr == ffi.NULL:
        raise NotOnSpdkThread("not on an SPDK thread (a worker thread? send() a message to one)")
    return Thread(lib.spdk_thread_get_id(ptr), ffi.string(lib.spdk_thread_get_name(ptr)).decode())


# Pollers C may still call, by their handles: alive until unregistered.
_pollers = set()


class Poller:
    """fn() every period_us (0: every reactor iteration) on this thread, until
    unregister() (on this thread; fn may call it itself). fn returns true if
    it did work (SPDK's busy/idle accounting); what it raises is logged and the
    poller goes on."""

    def __init__(self, fn, period_us=0):
        ffi, lib = binding.require()
        self.thread = current()
        self.fn = fn
        self._handle = ffi.new_handle(self)
        self._ptr = lib.spdk_py_poller_register(self._handle, int(period_us))
        if self._ptr == ffi.NULL:
            raise MemoryError("cannot register a poller on %s" % self.thread.name)
        _pollers.add(self)

    @property
    def registered(self):
        return self._ptr is not None

    def unregister(self):
        if self._ptr is None:
            return
        if current() != self.thread:
            raise RuntimeError("a poller is unregistered on its own thread (%s)"
                               % self.thread.name)
        binding.lib.spdk_py_poller_unregister(self._ptr)
        self._ptr = None
        _pollers.discard(self)

    def run(self):
        """C's call, once per period: 1 busy, 0 idle, -1 raised."""
        try:
            return 1 if self.fn() else 0
        except Exception:
            log.error("poller %r raised:\n%s" % (self.fn, traceback.format_exc()))
            return -1


class Timer:
    """fn() once, delay_us from now, on this thread, unless cancel()ed first."""

    def __init__(self, delay_us, fn):
        self.fn = fn
        self._poller = Poller(self._fire, max(1, int(delay_us)))

    def _fire(self):
        self._poller.unregister()
        self.fn()
        return True

    @property
    def pending(self):
        return self._poller.registered

    def cancel(self):
        self._poller.unregister()


def call_later(delay_us, fn):
    """fn() once, delay_us from now, on this thread: a Timer."""
    return Timer(delay_us, fn)


def sleep(delay_us):
    """A Future done delay_us from now, on this thread: `await thread.sleep(us)`."""
    future = Future()
    Timer(delay_us, lambda: future.set_result(None))
    return future


def for_each_thread(fn):
    """fn() on every SPDK thread in turn (spdk_for_each_thread); a Future done
    back on this thread when all have run. What fn raises is logged."""
    ffi, lib = binding.require()
    future = Future()
    each = _Message(fn)
    done = waiter(lambda rc: (each.release(), future.set_result(None)))
    rc = lib.spdk_py_for_each_thread(each.handle, done)
    if rc != 0:
        cancel(done)
        each.release()
        raise MemoryError("spdk_for_each_thread: %d" % rc)
    return future


# Messages C delivers more than once (one per thread), by their handles.
_messages = set()


class _Message:
    def __init__(self, fn):
        self.fn = fn
        self.handle = binding.ffi.new_handle(self)
        _messages.add(self)

    def run(self):
        _call("for_each_thread's %r" % self.fn, self.fn)

    def release(self):
        _messages.discard(self)
