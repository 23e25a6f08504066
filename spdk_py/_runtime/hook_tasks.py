"""Async hooks: a hook that is ``async def`` runs at once, in its batch, up to
its first wait, as a task would (in a carrier task: current_task() and its
context). One that finishes there is a hook like any other (nothing more per
I/O than its coroutine). One that waits keeps its I/O (C's ticket, on the
I/O's own buffers: the task runs on the I/O's thread and ends before the I/O
does) and goes on in the carrier's task on that thread's loop, whose end
completes the I/O with what the hook returns: exactly once, also at the
bdev's timeout (C's deadline asks for the cancel), a delete and the app's
shutdown, which cancel the task.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import types
from asyncio.events import _get_running_loop
from asyncio.tasks import _enter_task, _leave_task  # (asyncio's own, C; since 3.7)
from typing import Any, Callable, Generator, Optional

from spdk_py._runtime import log
from spdk_py._runtime.bdev import FAILED
from spdk_py._runtime.binding import binding
from spdk_py._runtime.io_errors import bad_result, io_exception

# What the engine gets back for a hook whose task now holds its I/O.
KEPT = object()
CoroutineType = types.CoroutineType
# What a driver yields when the coroutine it drove returned (with no
# exception raised: a Python-level StopIteration per I/O costs more than the hook).
RETURNED = object()


@types.coroutine
def _driver(inline: list) -> Generator[Any, Any, Any]:
    """Drives coroutines one after another, each to its first wait:
    send(coro) gives RETURNED (it returned None), (RETURNED, value), or what
    coro waits on. Then the driver is coro's (inline[0] cleared): a task
    goes on with it, and it returns what coro returns. One driver serves
    every hook that does not wait: no generator is made per I/O."""
    coro = yield
    while True:
        value = yield from coro
        if not inline[0]:
            return value
        coro = yield RETURNED if value is None else (RETURNED, value)


def returned(yielded: Any) -> Any:
    """What a driver gave, as a hook's result: None or the value returned;
    RETURNED if the coroutine waits instead (it yielded what it waits on)."""
    if yielded is RETURNED:
        return None
    if type(yielded) is tuple and len(yielded) == 2 and yielded[0] is RETURNED:
        return yielded[1]
    return RETURNED


@types.coroutine
def _go_on(driver: Any, yielded: Any) -> Generator[Any, Any, Any]:
    """The rest of a hook that waits on `yielded` (its driver's), as its
    task's: the task waits on that, then drives the hook to its end (a task
    sends only None; a cancel is thrown in, and goes to the hook)."""
    while True:
        try:
            yield yielded
        except BaseException as exc:
            try:
                yielded = driver.throw(exc)  # the hook caught it, and waits again
            except StopIteration as stop:   # ... or returned
                return stop.value
            continue
        return (yield from driver)


class _Carrier:
    """The task the first steps of a bdev's async hooks run in, on one loop
    (asyncio.current_task() there: asyncio.timeout, TaskGroup and the
    libraries built on them work before the first wait too), with the
    driver running them. The first hook that waits takes both: the task goes
    on with that hook; a new carrier serves the hooks after it."""

    __slots__ = ("task", "handoff", "context", "driver", "inline", "drive")

    def __init__(self, hooks: "HookTasks", loop: Any) -> None:
        self.handoff = loop.create_future()  # (driver, what it waits on, ticket, ...)
        # The task's context is the first steps' too: a context variable set
        # before the first wait (and reset after it: a token) is the same one.
        self.context = contextvars.copy_context()
        self.task = loop.create_task(hooks.carry(self.handoff), context=self.context)
        self.inline = [True]
        self.new_driver()

    def new_driver(self) -> None:
        self.driver: Any = _driver(self.inline)
        next(self.driver)
        self.drive = functools.partial(self.context.run, self.driver.send)  # type: ignore[call-arg]


class _Slot:
    """One loop's batch state for a bdev: the carrier its hooks' first steps
    run in, and whether a batch is in it now. A loop is one SPDK thread's, so
    a slot is used by one thread at a time, while the batches of other
    reactors use their own."""

    __slots__ = ("loop", "carrier", "drive", "entered")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.carrier: Any = None
        self.drive: Any = None  # what the engines call per I/O in a batch: drive(coro)
        self.entered = False


class HookTasks:
    """One bdev's async hooks: their first steps, their tasks, and how their I/Os end."""

    def __init__(self, engine: Any, keep: Callable[[int], int], go_on: int,
                 statuses: frozenset) -> None:
        self.engine = engine          # name, exceptions: for the log
        self.keep = keep              # io -> ticket (0: it cannot be kept)
        self.go_on = go_on            # what a hook's None completes with
        self.statuses = statuses      # what a hook may return
        self.tasks: dict[int, asyncio.Task] = {}  # ticket -> the task holding its I/O
        self._why: dict[int, str] = {}             # ticket -> why its task was cancelled
        self._slots: dict[Any, _Slot] = {}         # loop -> its batch state
        # Why every task ends now (a delete, the app's stop), once cancel_all ran.
        self.closing: Optional[str] = None

    # A batch: its hooks' first steps run in the loop's carrier task.
    def begin(self) -> _Slot:
        """This thread's slot, in its carrier's task (again in a batch: the same)."""
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            self._forget_exited()
            slot = self._slots[loop] = _Slot(loop)
        elif slot.entered:
            return slot
        if slot.carrier is None or slot.carrier.task.done():
            slot.carrier = _Carrier(self, loop)
        self._enter(slot, slot.carrier)
        return slot

    def _forget_exited(self) -> None:
        """The slots of loops whose SPDK thread exited: dropped (their idle
        carriers never run again; asyncio is told not to mind)."""
        for loop in [loop for loop in list(self._slots) if getattr(loop, "exited", False)]:
            slot = self._slots.pop(loop, None)
            carrier = slot.carrier if slot is not None else None
            if carrier is not None:
                carrier.task._log_destroy_pending = False

    def end(self) -> None:
        """The batch on this thread is over (if it began one)."""
        # (No loop: an off_reactor disk's batch on the Python thread, never async.)
        slot = self._slots.get(_get_running_loop())
        if slot is not None and slot.entered:
            _leave_task(slot.loop, slot.carrier.task)
            slot.entered = False

    def _enter(self, slot: _Slot, carrier: _Carrier) -> None:
        _enter_task(slot.loop, carrier.task)
        slot.carrier, slot.drive, slot.entered = carrier, carrier.drive, True

    def run(self, coro: Any, io: int, io_type: int, hook: str) -> Any:
        """The hook's first step, now (in a batch): its result, or KEPT (its
        task holds the I/O)."""
        slot = self.begin()
        try:
            yielded = slot.drive(coro)
        except BaseException:
            self.renew(slot)
            raise
        result = returned(yielded)
        if result is RETURNED:
            return self.adopt(slot, yielded, io, io_type, hook)
        return result

    def renew(self, slot: _Slot) -> None:
        """After a hook raised through the driver (which then ended): a new one."""
        carrier = slot.carrier
        if carrier is not None and carrier.driver.gi_frame is None:
            carrier.new_driver()
            slot.drive = carrier.drive

    def adopt(self, slot: _Slot, yielded: Any, io: int, io_type: int, hook: str) -> Any:
        """A hook that waits on `yielded` (what the driver gave): its I/O
        kept, the carrier's task goes on with it (its driver is that hook's
        now); a new carrier for the hooks to come. KEPT."""
        carrier = slot.carrier
        carrier.inline[0] = False
        ticket = self.keep(io)
        _leave_task(slot.loop, carrier.task)
        self._enter(slot, _Carrier(self, slot.loop))
        if not ticket:
            carrier.driver.close()
            carrier.task.cancel()
            raise RuntimeError("%s: its I/O cannot be kept for the task (no memory?)" % hook)
        self.tasks[ticket] = carrier.task
        carrier.handoff.set_result((carrier.driver, yielded, ticket, io_type, hook))
        # An I/O the bdev layer still sends while the bdev goes (an app's
        # resubmission of a failed one): cancel_all may have run before it
        # was in self.tasks, so it ends here (stored first, read second: one
        # of the two sees the other). Cancelled after the task's next step:
        # a task cancelled before it starts never runs carry(), which
        # completes the I/O.
        if self.closing is not None:
            slot.loop.call_soon(self._cancel, ticket, self.closing)
        return KEPT

    async def carry(self, handoff: asyncio.Future) -> None:
        """A carrier's task: idle until a hook that waits hands itself over;
        then the rest of that hook, and its I/O completed with its result."""
        cancelled = False
        try:
            driver, yielded, ticket, io_type, hook = await handoff
        except asyncio.CancelledError:
            if not handoff.done() or handoff.cancelled():
                return  # never carried an I/O: a delete, the app's stop
            driver, yielded, ticket, io_type, hook = handoff.result()
            cancelled = True  # as it took over
        status = FAILED
        try:
            if cancelled:
                driver.close()  # (the hook's finally blocks run)
                raise asyncio.CancelledError
            result = await _go_on(driver, yielded)
        except asyncio.CancelledError:
            log.error("%s: %s %s: its I/O fails" % (self.engine.name, hook,
                                                     self._why.pop(ticket, "was cancelled")))
        except Exception as exc:
            io_exception(self.engine, hook, io_type, exc)
        else:
            if result is None:
                status = self.go_on
            elif type(result) is not bool and result in self.statuses:
                status = int(result)
            else:
                bad_result(self.engine, hook, io_type, result)
        finally:
            del self.tasks[ticket]
            rc = binding.lib.spdk_py_deferred_complete(ticket, status)
            if rc:
                log.error("%s: %s ended after its I/O had failed (%d)"
                          % (self.engine.name, hook, rc))

    def _cancel(self, ticket: int, why: str) -> None:
        task = self.tasks.get(ticket)
        if task is not None and not task.done():
            self._why[ticket] = why
            task.cancel()

    def expired(self, ticket: int) -> None:
        """C's call, on the task's thread: its I/O is past the bdev's timeout."""
        self._cancel(ticket, "timed out after %d ms" % self.engine.owner.timeout_ms)

    def cancel_all(self, why: str) -> None:
        """A delete, the app's shutdown: every task ends, and fails its I/O;
        the idle carriers end. Each is cancelled on its own thread (its
        loop's), by a message. A task adopted after this ends at once (adopt)."""
        self.closing = why
        for ticket, task in list(self.tasks.items()):
            task.get_loop().call_soon_threadsafe(self._cancel, ticket, why)
        # The slots stay: another reactor may be inside a batch in its slot
        # now, and its end() must find it to leave its carrier (else the
        # carrier stays asyncio's current task there, and every later batch
        # on that thread fails to enter one: 3.14 keeps the current task per
        # OS thread). A carrier cancelled here is replaced at the next begin().
        for loop, slot in list(self._slots.items()):
            carrier = slot.carrier
            if carrier is not None:
                loop.call_soon_threadsafe(carrier.task.cancel)
