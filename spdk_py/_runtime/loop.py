"""An asyncio event loop per SPDK thread, driven by that thread's poller.

asyncio's own selector loop, with SPDK in the place of its run_forever: the
thread's poller runs one iteration at a time (ready callbacks, timers due,
the sockets' readiness, with no wait), and only while there is something to
run: a loop with nothing ready costs its reactor nothing (its poller is
paused). Timers fire from an SPDK timer armed for the earliest one; sockets
and pipes are polled, with no wait, every POLL_FDS_US while any is watched.
call_soon_threadsafe, from any thread, wakes the loop by an SPDK message.

Every time C enters Python on an SPDK thread (a batch, an RPC, a poller, a
completion), enter() makes that thread's loop asyncio's running loop there,
so asyncio.get_running_loop() in a hook, a handler or a program is the loop
of the SPDK thread it runs on (a reactor may run several SPDK threads).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import os
import select
import selectors
import traceback
from asyncio import events
from typing import Any, Optional

from spdk_py._runtime import here, log
from spdk_py._runtime.binding import binding
from spdk_py._runtime.cores import worker_cores
from spdk_py._runtime.thread import Poller, Timer, current, exited

# How often a loop with sockets or pipes to watch polls them (with no wait).
POLL_FDS_US = 50
# Worker threads of a loop's default executor (run_in_executor(None, ...)).
EXECUTOR_WORKERS = 8


class _Selector(selectors.EpollSelector):
    """The loop's selector (epoll: C polls its set): its epoll fd made when
    the first fd is watched (a loop that never watches one holds none), and
    no system call while nothing is watched."""

    def __init__(self) -> None:
        selectors._BaseSelectorImpl.__init__(self)  # type: ignore[attr-defined]
        self._epoll: Any = None

    @property
    def _selector(self) -> Any:  # (what EpollSelector's methods use)
        if self._epoll is None:
            self._epoll = select.epoll()
        return self._epoll

    def select(self, timeout: Optional[float] = None) -> list:
        if not self.get_map():
            return []
        return super().select(0)

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
        selectors._BaseSelectorImpl.close(self)  # type: ignore[attr-defined]


_base_call_soon = asyncio.BaseEventLoop._call_soon


class SpdkEventLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
    """The event loop of one SPDK thread (asyncio.get_running_loop() there)."""

    def __init__(self, thread: Any) -> None:
        self._spdk_thread = thread
        self.exited = False            # its SPDK thread is gone (_forget_exited)
        self._poller: Any = None       # runs one iteration, while there is one to run
        self._awake = False
        self._timer: Any = None        # an SPDK timer for the earliest call_at
        self._timer_when: Optional[float] = None
        self._fd_poller: Any = None    # while sockets or pipes are watched
        super().__init__(_Selector())
        # run_forever's stop flag, always set: an iteration never waits.
        self._stopping = True
        self.set_exception_handler(_log_exception)
        if self._ready:  # (asyncio's own __init__ may have scheduled something)
            self._wake()

    # Driven by SPDK, not run_forever.
    def run_forever(self) -> None:
        raise RuntimeError("an SPDK thread's poller runs this loop: await in a task instead")

    def run_until_complete(self, future: Any) -> Any:
        raise RuntimeError("an SPDK thread's poller runs this loop: await in a task instead")

    def is_running(self) -> bool:
        return True

    def stop(self) -> None:
        """Nothing to stop: the loop runs as long as its SPDK thread."""

    def close(self) -> None:
        """The loop lives as long as its SPDK thread."""

    def add_signal_handler(self, sig: int, callback: Any, *args: Any) -> None:
        raise NotImplementedError("SPDK owns the app's signals: no signal handlers on its loops")

    def _step(self) -> bool:
        """The poller's call: one iteration; then, with nothing left, no
        poller at all (an SPDK thread exits only once its pollers are gone)."""
        self._run_once()
        if self._ready:
            return True
        self._awake = False
        self._poller.unregister()
        self._poller = None
        self._arm_timer()
        return True

    def _wake(self) -> None:
        if self._awake:
            return
        if events._get_running_loop() is not self:
            # Another SPDK thread's code (a delete's cancel, a task of one
            # thread cancelled from another), or no SPDK thread's: the poller
            # is this loop's thread's. (enter() set the running loop; asking
            # C for the thread would release the GIL.)
            self._write_to_self()
            return
        self._awake = True
        try:
            self._poller = Poller(self._step, 0)
        except MemoryError:
            # A message that raced the thread's exit: SPDK takes no new
            # poller there. What is ready runs now (a carrier's cancel).
            self._awake = False
            for _ in range(100):
                if not self._ready:
                    break
                self._run_once()

    # Where callbacks come from: now, later, from another thread, from a socket.
    def _call_soon(self, callback: Any, args: Any, context: Any) -> Any:
        handle = _base_call_soon(self, callback, args, context)  # (no super(): per callback)
        if not self._awake:
            self._wake()
        return handle

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        handle = super().call_at(when, callback, *args, context=context)
        if self._timer_when is None or when < self._timer_when:
            self._arm_timer()
        return handle

    def _timer_handle_cancelled(self, handle: Any) -> None:
        super()._timer_handle_cancelled(handle)
        if self._timer_cancelled_count == len(self._scheduled):
            # Only cancelled timers left (asyncio.timeout's, an I/O done in
            # time): no SPDK timer kept for them, or the thread could not exit.
            for cancelled in self._scheduled:
                cancelled._scheduled = False
            self._scheduled.clear()
            self._timer_cancelled_count = 0
            self._arm_timer()

    def _arm_timer(self) -> None:
        """An SPDK timer for the earliest timer not yet due (the loop wakes then)."""
        if events._get_running_loop() is not self:
            self._write_to_self()  # (its _step arms it, on its own thread)
            return
        scheduled = self._scheduled
        while scheduled and scheduled[0]._cancelled:
            self._timer_cancelled_count -= 1
            heapq.heappop(scheduled)._scheduled = False
        when = scheduled[0]._when if scheduled else None
        if when == self._timer_when:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_when = when
        if when is not None:
            delay_us = max(1, int((when - self.time()) * 1e6))
            try:
                self._timer = Timer(delay_us, self._timer_fired)
            except MemoryError:  # the thread has exited: nothing runs later
                self._timer_when = None

    def _timer_fired(self) -> None:
        self._timer = self._timer_when = None
        self._wake()

    def _write_to_self(self) -> None:
        """call_soon_threadsafe's wake-up, from any thread: a message to the loop's."""
        if self.exited:
            return
        try:
            self._spdk_thread.send(self._wake)
        except (LookupError, ProcessLookupError):
            # The thread has exited (its tasks held no I/O: SPDK ends a
            # thread only once its channels are gone): nothing to run.
            self.exited = True
        except Exception as exc:
            log.error("asyncio: cannot wake the loop of %s: %s" % (self._spdk_thread.name, exc))

    def _make_self_pipe(self) -> None:
        """No self-pipe: an SPDK message wakes the loop (_write_to_self)."""

    def _close_self_pipe(self) -> None:
        pass

    def _add_reader(self, fd: Any, callback: Any, *args: Any) -> Any:
        handle = super()._add_reader(fd, callback, *args)
        self._watch_fds()
        return handle

    def _add_writer(self, fd: Any, callback: Any, *args: Any) -> Any:
        handle = super()._add_writer(fd, callback, *args)
        self._watch_fds()
        return handle

    def _remove_reader(self, fd: Any) -> bool:
        removed = super()._remove_reader(fd)
        self._watch_fds()
        return removed

    def _remove_writer(self, fd: Any) -> bool:
        removed = super()._remove_writer(fd)
        self._watch_fds()
        return removed

    def _watch_fds(self) -> None:
        """A poller while any fd is watched: it wakes the loop when one is ready."""
        watched = bool(self._selector.get_map())
        if watched and self._fd_poller is None:
            # C checks the selector's epoll set: Python runs only when one is ready.
            self._fd_poller = Poller(self._poll_fds, POLL_FDS_US, self._selector.fileno())
        elif not watched and self._fd_poller is not None:
            self._fd_poller.unregister()
            self._fd_poller = None

    def _poll_fds(self) -> bool:
        events_ready = self._selector.select(0)
        if not events_ready:
            return False
        self._process_events(events_ready)  # (into _ready directly, not through call_soon)
        if self._ready:
            self._wake()
        return True

    # Blocking work: on threads off the reactors' cores, back by call_soon_threadsafe.
    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> Any:
        if executor is None and self._default_executor is None:
            self.set_default_executor(concurrent.futures.ThreadPoolExecutor(
                EXECUTOR_WORKERS, thread_name_prefix="spdk_py_executor",
                initializer=os.sched_setaffinity, initargs=(0, worker_cores())))
        return super().run_in_executor(executor, func, *args)


def _log_exception(loop: Any, context: dict) -> None:
    """What asyncio would log about a callback or task that raised, in SPDK's log."""
    message = context.get("message", "an asyncio callback raised")
    exc = context.get("exception")
    detail = ("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
              if exc is not None else "")
    log.error("asyncio: %s%s" % (message, "\n" + detail if detail else ""))


# Every SPDK thread's loop, by its key (spdk_py_thread_key).
_loops: dict[int, SpdkEventLoop] = {}


def enter(key: Optional[int] = None) -> Optional[SpdkEventLoop]:
    """On entering Python: this SPDK thread's loop (key: its
    spdk_py_thread_key, if C passed it), made the running one here (made
    first, if need be); None where SPDK has no thread."""
    if key is None:
        if not binding.installed:
            return None
        key = binding.lib.spdk_py_thread_key()
    loop = _loops.get(key)
    if loop is None:
        if not key:
            events._set_running_loop(None)
            here.current.loop = None
            return None
        _forget_exited()
        loop = _loops[key] = SpdkEventLoop(current())
    events._set_running_loop(loop)
    here.current.loop = loop
    return loop


def _forget_exited() -> None:
    """The loops of SPDK threads that have exited (bdevperf's jobs, a
    transport's poll groups), dropped as a new one is made: their epoll fds
    closed, nothing of theirs kept."""
    for key in [k for k in list(_loops) if exited(k)]:  # (list(): other threads add theirs)
        loop = _loops.pop(key, None)
        if loop is None:  # (another thread's new loop dropped it first)
            continue
        loop.exited = True  # (what keeps state per loop drops it: hook_tasks)
        loop._selector.close()


def count() -> int:
    """How many loops are kept (one per SPDK thread that has entered Python)."""
    return len(_loops)


def get() -> SpdkEventLoop:
    """This SPDK thread's loop."""
    loop = enter()
    if loop is None:
        raise RuntimeError("not on an SPDK thread: no event loop here")
    return loop
