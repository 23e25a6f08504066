"""spdk_py.coroutine without SPDK: futures resolved by hand stand in for
completions (inside a target, an I/O's completion batch resolves them)."""

import pytest

from spdk_py import coroutine
from spdk_py.coroutine import Future, InvalidState, gather, spawn


def test_a_task_runs_to_its_first_wait_and_resumes_on_the_result():
    steps = []
    first, second = Future(), Future()

    async def body():
        steps.append("started")
        steps.append(await first)
        steps.append(await second)
        return "end"

    task = spawn(body())
    assert steps == ["started"] and not task.done()
    first.set_result(1)
    assert steps == ["started", 1] and not task.done()
    second.set_result(2)
    assert task.done() and task.result() == "end" and steps == ["started", 1, 2]


def test_an_exception_set_on_a_future_is_raised_in_the_task():
    failing = Future()

    async def body():
        try:
            await failing
        except OSError as exc:
            return "caught %s" % exc.errno
    task = spawn(body())
    failing.set_exception(OSError(5, "io"))
    assert task.result() == "caught 5"


def test_a_done_future_does_not_suspend_and_nested_tasks_return_values():
    ready = Future()
    ready.set_result(3)

    async def inner():
        return await ready * 2

    async def outer():
        return await spawn(inner()) + 1
    assert spawn(outer()).result() == 7


def test_an_unretrieved_task_exception_is_logged(capsys):
    async def body():
        raise ValueError("boom")
    task = spawn(body(), name="failing")
    assert isinstance(task.exception(), ValueError)
    assert "task failing raised" in capsys.readouterr().err


def test_an_awaited_task_exception_is_not_logged_twice(capsys):
    gate = Future()

    async def failing():
        await gate
        raise ValueError("boom")

    async def waiting():
        with pytest.raises(ValueError):
            await spawn(failing())
        return "handled"
    task = spawn(waiting())
    gate.set_result(None)
    assert task.result() == "handled"
    assert "raised" not in capsys.readouterr().err


def test_awaiting_something_else_fails_the_task_clearly():
    class Foreign:
        def __await__(self):
            yield "not a spdk_py future"

    async def body():
        await Foreign()
    task = spawn(body())
    assert isinstance(task.exception(), TypeError)
    assert "no asyncio" in str(task.exception())


def test_gather_keeps_order_and_fails_on_the_first_exception():
    a, b = Future(), Future()
    both = gather(a, b)
    b.set_result("b")
    assert not both.done()
    a.set_result("a")
    assert both.result() == ["a", "b"]
    c, d = Future(), Future()
    failed = gather(c, d)
    d.set_exception(RuntimeError("d"))
    assert isinstance(failed.exception(), RuntimeError)
    c.set_result(None)  # late results change nothing
    assert gather().result() == []


def test_cancel_closes_the_coroutine_where_it_waits():
    closed = []

    async def body():
        try:
            await Future()
        finally:
            closed.append(True)
    task = spawn(body())
    task.cancel()
    assert closed == [True] and isinstance(task.exception(), coroutine.Cancelled)


def test_a_future_is_resolved_once():
    future = Future()
    with pytest.raises(InvalidState):
        future.result()
    future.set_result(1)
    with pytest.raises(InvalidState):
        future.set_result(2)
    seen = []
    future.add_done_callback(lambda f: seen.append(f.result()))
    assert seen == [1]


def test_a_raising_callback_does_not_stop_the_others(capsys):
    future, seen = Future(), []
    future.add_done_callback(lambda f: 1 / 0)
    future.add_done_callback(lambda f: seen.append(f.result()))
    future.set_result("ok")
    assert seen == ["ok"] and "ZeroDivisionError" in capsys.readouterr().err
