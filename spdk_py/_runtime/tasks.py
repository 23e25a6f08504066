"""spdk_py's futures and tasks are asyncio's, on the running SPDK thread's
event loop (_runtime/loop.py): one task model. A Future made here belongs
to the loop of the SPDK thread that makes it, and is resolved there (C
hands a completion back on the thread that asked for it); a task that
awaits it resumes at that loop's next iteration."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine, Optional

Future = asyncio.Future
Task = asyncio.Task
gather = asyncio.gather


def new_future() -> "asyncio.Future[Any]":
    """A Future on this SPDK thread's loop."""
    return asyncio.get_running_loop().create_future()


def spawn(coro: Coroutine[Any, Any, Any], name: Optional[str] = None) -> asyncio.Task:
    """Run coro as a task on this SPDK thread's loop (its first step at the
    loop's next iteration)."""
    return asyncio.get_running_loop().create_task(coro, name=name)


def resolve(future: asyncio.Future, result: Any = None,
            exception: Optional[BaseException] = None) -> None:
    """Set a future's outcome from whichever thread: on its loop's own, at
    once; from another, by a message to it."""
    loop = future.get_loop()
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    setter = future.set_result if exception is None else future.set_exception
    value = result if exception is None else exception
    if here is loop:
        if not future.done():
            setter(value)
    else:
        loop.call_soon_threadsafe(lambda: future.done() or setter(value))


def then(future: asyncio.Future, fn: Callable[[Any], Any]) -> "asyncio.Future[Any]":
    """A Future (of this thread's loop) of fn(future's result): its exception,
    or fn's, or its cancellation instead."""
    out = new_future()

    def done(f: asyncio.Future) -> None:
        if f.cancelled():
            out.cancel()
        elif f.exception() is not None:
            out.set_exception(f.exception())  # type: ignore[arg-type]
        else:
            try:
                out.set_result(fn(f.result()))
            except Exception as exc:
                out.set_exception(exc)
    future.add_done_callback(done)
    return out
