"""Async hooks: a hook that is ``async def`` runs at once, in its batch, up to
its first wait. One that finishes there is a hook like any other (nothing
more per I/O). One that waits keeps its I/O (C's ticket, on the I/O's own
buffers: the task runs on the I/O's thread and ends before the I/O does)
and goes on as an asyncio task on that thread's loop, whose end completes
the I/O with what the hook returns: exactly once, also at the bdev's
timeout, a delete and the app's shutdown, which cancel the task.
"""

from __future__ import annotations

import asyncio
import functools
import types
from typing import Any, Callable, Generator, Optional

from spdk_py._runtime import log
from spdk_py._runtime.bdev import FAILED
from spdk_py._runtime.binding import binding
from spdk_py._runtime.io_errors import bad_result, io_exception

# What the engine gets back for a hook whose task now holds its I/O.
KEPT = object()
CoroutineType = types.CoroutineType
# What first_step() yields when the coroutine has returned (no exception raised:
# a Python-level StopIteration per I/O costs more than the hook).
RETURNED = object()


@types.coroutine
def first_step(coro: Any) -> Generator[Any, Any, None]:
    """Drive coro: the first next() of this gives what coro first waits on,
    or, once it returned, RETURNED (for None) or (RETURNED, its value); later
    ones go on (send, throw) as a task would."""
    value = yield from coro
    yield RETURNED if value is None else (RETURNED, value)


def returned(yielded: Any) -> Any:
    """What first_step gave, as a hook's result: None or the value returned;
    RETURNED if the coroutine waits instead (it yielded what it waits on)."""
    if yielded is RETURNED:
        return None
    if type(yielded) is tuple and len(yielded) == 2 and yielded[0] is RETURNED:
        return yielded[1]
    return RETURNED


@types.coroutine
def _go_on(stepper: Any, yielded: Any) -> Generator[Any, Any, Any]:
    """The rest of a hook that ran to its first wait (its stepper yielded
    `yielded`), as a task's: what it waits on, the task waits on; its
    return, the task's."""
    while True:
        try:
            sent = yield yielded
        except BaseException as exc:  # thrown in by the task: its cancellation
            yielded = stepper.throw(exc)
        else:
            yielded = stepper.send(sent)
        result = returned(yielded)
        if result is not RETURNED:
            stepper.close()
            return result


async def _task(stepper: Any, yielded: Any) -> Any:
    return await _go_on(stepper, yielded)


class HookTasks:
    """One bdev's async hooks: their tasks, and how their I/Os end."""

    def __init__(self, engine: Any, keep: Callable[[int], int], go_on: int,
                 statuses: frozenset) -> None:
        self.engine = engine          # name, exceptions: for the log
        self.keep = keep              # io -> ticket (0: it cannot be kept)
        self.go_on = go_on            # what a hook's None completes with
        self.statuses = statuses      # what a hook may return
        self.tasks: dict[asyncio.Task, str] = {}  # task -> why it was cancelled ("")

    def run(self, coro: Any, io: int, io_type: int, hook: str, timeout_ms: int) -> Any:
        """The hook's first step, now: its result, or KEPT (its task holds the I/O)."""
        stepper = first_step(coro)
        yielded = next(stepper)
        result = returned(yielded)
        if result is RETURNED:
            return self.adopt(stepper, yielded, io, io_type, hook, timeout_ms)
        return result

    def adopt(self, stepper: Any, yielded: Any, io: int, io_type: int, hook: str,
              timeout_ms: int) -> Any:
        """A hook that waits (its stepper yielded `yielded`): its I/O kept,
        the rest of it a task on this thread's loop. KEPT."""
        ticket = self.keep(io)
        if not ticket:
            stepper.close()
            raise RuntimeError("%s: its I/O cannot be kept for the task (no memory?)" % hook)
        loop = asyncio.get_running_loop()
        task = loop.create_task(_task(stepper, yielded), name="%s %s" % (self.engine.name, hook))
        timer = (loop.call_later(timeout_ms / 1000, self._cancel, task,
                                 "timed out after %d ms" % timeout_ms) if timeout_ms else None)
        self.tasks[task] = ""
        task.add_done_callback(functools.partial(self._ended, ticket, io_type, hook, timer))
        return KEPT

    def _cancel(self, task: asyncio.Task, why: str) -> None:
        if task in self.tasks and not task.done():
            self.tasks[task] = why
            task.cancel()

    def cancel_all(self, why: str) -> None:
        """A delete, the app's shutdown: every task ends, and fails its I/O.
        Each is cancelled on its own thread (its loop's), by a message."""
        for task in list(self.tasks):
            task.get_loop().call_soon_threadsafe(self._cancel, task, why)

    def _ended(self, ticket: int, io_type: int, hook: str, timer: Optional[Any],
               task: asyncio.Task) -> None:
        why = self.tasks.pop(task, "")
        if timer is not None:
            timer.cancel()
        status = FAILED
        if task.cancelled():
            log.error("%s: %s %s: its I/O fails" % (self.engine.name, hook, why or "was cancelled"))
        elif task.exception() is not None:
            io_exception(self.engine, hook, io_type, task.exception())  # type: ignore[arg-type]
        else:
            result = task.result()
            if result is None:
                status = self.go_on
            elif type(result) is not bool and result in self.statuses:
                status = int(result)
            else:
                bad_result(self.engine, hook, io_type, result)
        rc = binding.lib.spdk_py_deferred_complete(ticket, status)
        if rc:
            log.error("%s: %s ended after its I/O had failed (%d)" % (self.engine.name, hook, rc))
