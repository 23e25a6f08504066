"""SPDK threads: the current thread, pollers, timers and messages
(spdk_py.thread documents them for module authors). Everything here runs
Python on an SPDK thread and never blocks it; a poller or timer runs on the
thread that registered it, a message on the thread it is sent to."""

from __future__ import annotations

import errno
import inspect
import traceback
from threading import get_ident
from typing import Any, Callable, Generic, Optional, TypeVar

from spdk_py._runtime import handles, here, log
from spdk_py._runtime.binding import binding
from spdk_py._runtime.completion import cancel, waiter
from spdk_py._runtime.cores import reactor_cores
from spdk_py._runtime.errors import NotOnSpdkThread
from spdk_py._runtime.shared import read_by_every_reactor
from spdk_py._runtime.tasks import Future, new_future, spawn

T = TypeVar("T")


class Thread:
    """One SPDK thread (spdk_thread), named by its id: a handle, compared by id."""

    __slots__ = ("id", "name")

    def __init__(self, thread_id: int, name: str) -> None:
        self.id = thread_id
        self.name = name

    @classmethod
    def create(cls, name: str, core: Optional[int] = None) -> "Thread":
        """A new SPDK thread (spdk_thread_create) on the reactor of `core`, or
        on the reactor SPDK picks. It runs what is sent to it (send, run)
        until exit(); the app's stop ends it with the others."""
        ffi, lib = binding.require()
        rc = ffi.new("int *")
        ptr = lib.spdk_py_thread_create(name.encode(), -1 if core is None else int(core), rc)
        if ptr == ffi.NULL:
            if rc[0] == -errno.EINVAL:
                raise ValueError("no reactor on core %s: the app's reactors are on %s"
                                 % (core, reactor_cores()))
            raise OSError(-rc[0], "cannot create SPDK thread %s" % name)
        return cls(lib.spdk_thread_get_id(ptr), name)

    def exit(self) -> None:
        """End this thread, from any thread: SPDK ends it once its pollers
        and I/O channels are gone (close what runs there first: after 5 s
        SPDK forces it and logs an error)."""
        self.send(_exit_here)

    @property
    def exited(self) -> bool:
        """The thread is gone (or going: it takes no more messages)."""
        return exited(self.id)

    def _ptr(self) -> Any:
        ffi, lib = binding.require()
        ptr = lib.spdk_thread_get_by_id(self.id)
        if ptr == ffi.NULL:
            raise LookupError("SPDK thread %s (%d) has exited" % (self.name, self.id))
        return ptr

    def send(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on this thread, soon; from any thread, SPDK's or not.
        What fn raises is logged there."""
        _, lib = binding.require()
        cb_arg = waiter(lambda rc: _call("message to %s" % self.name, fn, *args))
        rc = lib.spdk_py_thread_send(self._ptr(), cb_arg)
        if rc != 0:
            cancel(cb_arg)
            raise OSError(-rc, "cannot send a message to SPDK thread %s" % self.name)

    def run(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run `fn(*args)` on this thread, and if it returns a coroutine, run that
        there as a task; a Future of the outcome, done back on the calling
        SPDK thread. The way to do work on another reactor and await it."""
        back = current()
        future = new_future()

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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thread) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return "<spdk thread %s (%d)>" % (self.name, self.id)


def exited(thread_id: int) -> bool:
    """Whether the SPDK thread of this id is gone (or going: it takes no more messages)."""
    ffi, lib = binding.require()
    ptr = lib.spdk_thread_get_by_id(thread_id)
    return ptr == ffi.NULL or bool(lib.spdk_thread_is_exited(ptr))


def _exit_here() -> None:
    rc = binding.lib.spdk_py_thread_exit()
    if rc != 0:
        log.error("spdk_thread_exit on %s: %d" % (current().name, rc))


def _call(what: str, fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.error("%s raised:\n%s" % (what, traceback.format_exc()))


def current() -> Thread:
    """The SPDK thread running this code; NotOnSpdkThread elsewhere."""
    ffi, lib = binding.require()
    ptr = lib.spdk_get_thread()
    if ptr == ffi.NULL:
        raise NotOnSpdkThread("not on an SPDK thread (a worker thread? send() a message to one)")
    return Thread(lib.spdk_thread_get_id(ptr), ffi.string(lib.spdk_thread_get_name(ptr)).decode())


class Poller:
    """fn() every period_us (0: every reactor iteration) on this thread, until
    unregister() (on this thread; fn may call it itself). fn returns true if
    it did work (SPDK's busy/idle accounting); what it raises is logged and the
    poller goes on. With epoll_fd (an epoll set's, e.g. a selector's), fn is
    called only when one of its file descriptors is ready (C checks, with
    no wait: no Python while none is)."""

    def __init__(self, fn: Callable[[], Any], period_us: int = 0,
                 epoll_fd: Optional[int] = None) -> None:
        ffi, lib = binding.require()
        self.thread = current()
        self.fn = fn
        self._ptr = (lib.spdk_py_poller_register(handles.keep(self), int(period_us))
                     if epoll_fd is None else
                     lib.spdk_py_fd_poller_register(handles.keep(self), epoll_fd, int(period_us)))
        if self._ptr == ffi.NULL:
            handles.release(self)
            raise MemoryError("cannot register a poller on %s" % self.thread.name)

    @property
    def registered(self) -> bool:
        return self._ptr is not None

    def unregister(self) -> None:
        if self._ptr is None:
            return
        if current() != self.thread:
            raise RuntimeError("a poller is unregistered on its own thread (%s)"
                               % self.thread.name)
        binding.lib.spdk_py_poller_unregister(self._ptr)
        self._ptr = None
        handles.release(self)

    def run(self) -> int:
        """C's call, once per period: 1 busy, 0 idle, -1 raised."""
        try:
            return 1 if self.fn() else 0
        except Exception:
            log.error("poller %r raised:\n%s" % (self.fn, traceback.format_exc()))
            return -1


class Timer:
    """fn() once, delay_us from now, on this thread, unless cancel()ed first."""

    def __init__(self, delay_us: int, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self._poller = Poller(self._fire, max(1, int(delay_us)))

    def _fire(self) -> bool:
        self._poller.unregister()
        self.fn()
        return True

    @property
    def pending(self) -> bool:
        return self._poller.registered

    def cancel(self) -> None:
        self._poller.unregister()


def call_later(delay_us: int, fn: Callable[[], Any]) -> Timer:
    """fn() once, delay_us from now, on this thread: a Timer."""
    return Timer(delay_us, fn)


def sleep(delay_us: int) -> Future:
    """A Future done delay_us from now, on this thread: `await thread.sleep(us)`."""
    future = new_future()
    Timer(delay_us, lambda: future.set_result(None))
    return future


def for_each_thread(fn: Callable[[], Any]) -> Future:
    """fn() on every SPDK thread in turn (spdk_for_each_thread); a Future done
    back on this thread when all have run. What fn raises is logged."""
    ffi, lib = binding.require()
    future = new_future()
    each = _Message(fn)

    def done_all(rc: int) -> None:
        handles.release(each)
        future.set_result(None)
    done = waiter(done_all)
    rc = lib.spdk_py_for_each_thread(handles.keep(each), done)
    if rc != 0:
        cancel(done)
        handles.release(each)
        raise MemoryError("spdk_for_each_thread: %d" % rc)
    return future


class _Message:
    """What C delivers once per thread (spdk_for_each_thread), by its handle."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn

    def run(self) -> None:
        _call("for_each_thread's %r" % self.fn, self.fn)


class Local(Generic[T]):
    """A value per SPDK thread, made by factory() on the thread's first get():
    what a hook keeps for its own reactor (counters, buffers, a connection),
    so reactors running Python together never write the same object. Off
    SPDK's threads (the Python thread of an off_reactor disk, a worker), a
    value per OS thread. A thread's value is kept after it exits (its counts
    still add up)."""

    __slots__ = ("_factory", "_values")

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        # an SPDK thread's loop (or an OS thread's id) -> value
        self._values: dict[Any, T] = read_by_every_reactor({})
        read_by_every_reactor(self)

    def get(self) -> T:
        """This thread's value."""
        # This SPDK thread's loop, as C's entry recorded it: one lookup, no
        # call into C or the kernel (on a hook's path: keep it short).
        try:
            return self._values[here.current.loop]
        except (KeyError, AttributeError):  # (a new thread; a thread C never entered)
            return self._make()

    def _make(self) -> T:
        key = getattr(here.current, "loop", None) or get_ident()
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = self._factory()
        return value

    def values(self) -> list[T]:
        """Every thread's value so far (read from any thread: to sum counters)."""
        return list(self._values.values())


def local(factory: Callable[[], T]) -> Local[T]:
    """A value per SPDK thread: ``counts = thread.local(lambda: [0, 0])``;
    ``counts.get()[0] += 1`` in a hook; ``sum(c[0] for c in counts.values())``."""
    return Local(factory)

