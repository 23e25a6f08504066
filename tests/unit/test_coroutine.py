"""spdk_py.coroutine without SPDK: its futures and tasks are asyncio's, run
here on a plain asyncio loop (inside a target, the SPDK thread's loop runs
them, and an I/O's completion batch resolves its future)."""

import asyncio
import threading

import pytest

from spdk_py import coroutine
from spdk_py._runtime import tasks
from spdk_py.coroutine import Future, InvalidState, gather, spawn


def run(coro):
    return asyncio.run(coro)


def test_spdk_pys_futures_and_tasks_are_asyncios():
    assert Future is asyncio.Future and coroutine.Task is asyncio.Task
    assert coroutine.Cancelled is asyncio.CancelledError and InvalidState is \
        asyncio.InvalidStateError


def test_a_task_runs_to_its_first_wait_and_resumes_on_the_result():
    async def main():
        steps = []
        first, second = Future(), Future()

        async def body():
            steps.append("started")
            steps.append(await first)
            steps.append(await second)
            return "end"
        task = spawn(body())
        await asyncio.sleep(0)
        assert steps == ["started"] and not task.done()
        first.set_result(1)
        await asyncio.sleep(0)
        assert steps == ["started", 1] and not task.done()
        second.set_result(2)
        assert await task == "end" and steps == ["started", 1, 2]
    run(main())


def test_gather_keeps_order_and_fails_on_the_first_exception():
    async def main():
        a, b = Future(), Future()
        b.set_result("b")
        a.set_result("a")
        assert await gather(a, b) == ["a", "b"]
        c, d = Future(), Future()
        d.set_exception(RuntimeError("d"))
        with pytest.raises(RuntimeError):
            await gather(c, d)
        assert await gather() == []
    run(main())


def test_cancel_closes_the_coroutine_where_it_waits():
    async def main():
        closed = []

        async def body():
            try:
                await Future()
            finally:
                closed.append(True)
        task = spawn(body())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(coroutine.Cancelled):
            await task
        assert closed == [True]
    run(main())


def test_resolve_sets_a_future_once_from_any_thread():
    async def main():
        here, there = Future(), Future()
        tasks.resolve(here, 1)
        tasks.resolve(here, 2)  # resolved already: nothing
        assert here.result() == 1
        worker = threading.Thread(target=tasks.resolve, args=(there, None, OSError(5, "io")))
        worker.start()
        worker.join()
        with pytest.raises(OSError):
            await there
    run(main())


def test_a_future_is_resolved_once():
    async def main():
        future = Future()
        with pytest.raises(InvalidState):
            future.result()
        future.set_result(1)
        with pytest.raises(InvalidState):
            future.set_result(2)
    run(main())
