"""Futures and tasks on SPDK's threads, with no event loop and no extra
thread (spdk_py.coroutine documents them for module authors).

A Task steps its coroutine on the SPDK thread it was spawned on; each await
of a Future that is not done adds the task's step as the future's callback
(no closure per await), and the completion that resolves the future, which
SPDK delivers on that same thread, steps the task synchronously. Every
completion C hands back in spdk_py resolves one of these.
"""

from __future__ import annotations

import functools
import traceback
from typing import Any, Awaitable, Callable, Generator, Optional

from spdk_py._runtime import log
from spdk_py._runtime.errors import Cancelled, InvalidState

_PENDING, _DONE = 0, 1


class Future:
    """A result that arrives later, on the SPDK thread whose code awaits it."""

    __slots__ = ("_state", "_result", "_exception", "_callbacks", "_retrieved")

    def __init__(self) -> None:
        self._state = _PENDING
        self._result: Any = None
        self._exception: Optional[BaseException] = None
        self._callbacks: Optional[list] = None
        self._retrieved = False

    def done(self) -> bool:
        return self._state == _DONE

    def result(self) -> Any:
        if self._state != _DONE:
            raise InvalidState("the future is not done")
        self._retrieved = True
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self) -> Optional[BaseException]:
        if self._state != _DONE:
            raise InvalidState("the future is not done")
        self._retrieved = True
        return self._exception

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """fn(future) once it is done (now, if it is)."""
        if self._state == _DONE:
            _run_callback(fn, self)
        elif self._callbacks is None:
            self._callbacks = [fn]
        else:
            self._callbacks.append(fn)

    def _add_waker(self, task: "Task") -> None:
        # A task waits here: its step is the callback, with no closure per await.
        if self._callbacks is None:
            self._callbacks = [task._step]
        else:
            self._callbacks.append(task._step)

    def set_result(self, result: Any) -> None:
        if self._state == _DONE:
            raise InvalidState("the future is done already")
        self._result = result
        self._finish()

    def set_exception(self, exception: BaseException) -> None:
        if self._state == _DONE:
            raise InvalidState("the future is done already")
        self._exception = exception
        self._finish()

    def _finish(self) -> None:
        self._state = _DONE
        callbacks, self._callbacks = self._callbacks, None
        if callbacks:
            for fn in callbacks:
                _run_callback(fn, self)

    def __await__(self) -> Generator["Future", None, Any]:
        if self._state != _DONE:
            yield self
        return self.result()

    __iter__ = __await__


def _run_callback(fn: Callable[[Future], Any], future: Future) -> None:
    # One callback raising does not stop the others, nor reach C.
    try:
        fn(future)
    except Exception:
        log.error("callback %r of a future raised:\n%s" % (fn, traceback.format_exc()))


class Task(Future):
    """Runs coro on this SPDK thread; done with its return value or exception.

    An exception nobody retrieved (no awaiter, no done callback asking) is
    logged when the task ends, so a failing background task is never silent.
    """

    __slots__ = ("_coro", "name")

    def __init__(self, coro: Any, name: Optional[str] = None) -> None:
        super().__init__()
        self._coro = coro
        self.name = name or getattr(coro, "__qualname__", repr(coro))
        self._step(None)

    def _step(self, future: Optional[Future]) -> None:
        coro = self._coro
        while True:
            try:
                if future is None:
                    waited = coro.send(None)
                elif future._exception is not None:
                    future._retrieved = True
                    waited = coro.throw(future._exception)
                else:
                    waited = coro.send(future._result)
            except StopIteration as stop:
                self._coro = None
                self.set_result(stop.value)
                return
            except BaseException as exc:  # noqa: B902 (the task's outcome)
                self._coro = None
                self.set_exception(exc)
                if not self._retrieved:
                    log.error("task %s raised:\n%s" % (self.name, "".join(
                        traceback.format_exception(type(exc), exc, exc.__traceback__))))
                return
            if not isinstance(waited, Future):
                self._coro = None
                coro.close()
                self.set_exception(TypeError(
                    "task %s awaited %r: only spdk_py futures can be awaited on an SPDK "
                    "thread (no asyncio here)" % (self.name, waited)))
                return
            if not waited.done():
                waited._add_waker(self)
                return
            future = waited  # done already: go on without recursing

    def cancel(self) -> None:
        """Stop the coroutine where it waits (it sees GeneratorExit)."""
        if self._coro is not None:
            coro, self._coro = self._coro, None
            coro.close()
            if not self.done():
                self.set_exception(Cancelled("task %s was cancelled" % self.name))


def spawn(coro: Any, name: Optional[str] = None) -> Task:
    """Start coro on this SPDK thread, now, up to its first wait; a Task."""
    return Task(coro, name)


def gather(*awaitables: Awaitable[Any]) -> Future:
    """A Future of every result, in order; the first exception, if any."""
    out = Future()
    results = [None] * len(awaitables)
    left = [len(awaitables)]
    if not awaitables:
        out.set_result([])
        return out

    def one(i: int, future: Future) -> None:
        if out.done():
            return
        exc = future.exception()
        if exc is not None:
            out.set_exception(exc)
            return
        results[i] = future.result()
        left[0] -= 1
        if left[0] == 0:
            out.set_result(results)

    for i, item in enumerate(awaitables):
        future = item if isinstance(item, Future) else spawn(item)
        future.add_done_callback(functools.partial(one, i))
    return out
