"""async def code on SPDK's threads, with no event loop and no extra thread.

A Task runs a coroutine on the SPDK thread it was spawned on. Each `await` of
something SPDK finishes later (an I/O, `thread.sleep`, a message's answer)
suspends it; the completion, which SPDK delivers on that same thread, resumes
it there. So a coroutine never moves between threads, never blocks a reactor,
and needs no lock for state only it touches.

    from spdk_py import coroutine

    async def copy_block(src, dst, buf):
        await src.read_blocks(buf, 0, 1)     # an IoChannel's I/O: a Future
        await dst.write_blocks(buf, 0, 1)

    task = coroutine.spawn(copy_block(a, b, buf))
    task.add_done_callback(lambda t: print(t.exception()))

Future is the one awaitable: an I/O's, a timer's, or one made by hand and
resolved with set_result / set_exception on the thread whose tasks await it.
"""

import traceback

from spdk_py import log

_PENDING, _DONE = 0, 1


class InvalidState(RuntimeError):
    """The Future is not done yet, or is done already."""


class Future:
    """A result that arrives later, on the SPDK thread whose code awaits it."""

    __slots__ = ("_state", "_result", "_exception", "_callbacks", "_retrieved")

    def __init__(self):
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._callbacks = None
        self._retrieved = False

    def done(self):
        return self._state == _DONE

    def result(self):
        if self._state != _DONE:
            raise InvalidState("the future is not done")
        self._retrieved = True
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self):
        if self._state != _DONE:
            raise InvalidState("the future is not done")
        self._retrieved = True
        return self._exception

    def add_done_callback(self, fn):
        """fn(future) once it is done (now, if it is)."""
        if self._state == _DONE:
            _run_callback(fn, self)
        elif self._callbacks is None:
            self._callbacks = [fn]
        else:
            self._callbacks.append(fn)

    def _add_waker(self, task):
        # A task waits here: its step is the callback, with no closure per await.
        if self._callbacks is None:
            self._callbacks = [task._step]
        else:
            self._callbacks.append(task._step)

    def set_result(self, result):
        if self._state == _DONE:
            raise InvalidState("the future is done already")
        self._result = result
        self._finish()

    def set_exception(self, exception):
        if self._state == _DONE:
            raise InvalidState("the future is done already")
        self._exception = exception
        self._finish()

    def _finish(self):
        self._state = _DONE
        callbacks, self._callbacks = self._callbacks, None
        if callbacks:
            for fn in callbacks:
                _run_callback(fn, self)

    def __await__(self):
        if self._state != _DONE:
            yield self
        return self.result()

    __iter__ = __await__


def _run_callback(fn, future):
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

    def __init__(self, coro, name=None):
        super().__init__()
        self._coro = coro
        self.name = name or getattr(coro, "__qualname__", repr(coro))
        self._step(None)

    def _step(self, future):
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

    def cancel(self):
        """Stop the coroutine where it waits (it sees GeneratorExit)."""
        if self._coro is not None:
            coro, self._coro = self._coro, None
            coro.close()
            if not self.done():
                self.set_exception(Cancelled("task %s was cancelled" % self.name))


class Cancelled(Exception):
    """The task was cancelled before it finished."""


def spawn(coro, name=None):
    """Start coro on this SPDK thread, now, up to its first wait; a Task."""
    return Task(coro, name)


def gather(*awaitables):
    """A Future of every result, in order; the first exception, if any."""
    out = Future()
    results = [None] * len(awaitables)
    left = [len(awaitables)]
    if not awaitables:
        out.set_result([])
        return out

    def one(i, future):
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
        future.add_done_callback(lambda f, i=i: one(i, f))
    return out
