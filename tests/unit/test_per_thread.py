"""Per-thread state without SPDK: thread.local's values by SPDK thread (its
running loop) or OS thread, the engines' counts summed over threads, and
how the executor mode is chosen."""

import asyncio
import threading
from asyncio import events

import pytest

from spdk_py import thread
from spdk_py._runtime import executor, here
from spdk_py._runtime.hook_tasks import HookTasks
from spdk_py._runtime.io_counts import IoCounts


def on_loop(loop, fn):
    """fn() with loop as this OS thread's SPDK thread's loop (as C's entry sets it)."""
    saved = events._get_running_loop(), getattr(here.current, "loop", None)
    events._set_running_loop(loop)
    here.current.loop = loop
    try:
        return fn()
    finally:
        events._set_running_loop(saved[0])
        here.current.loop = saved[1]


def test_a_value_per_spdk_thread_made_once_each():
    made = []
    counts = thread.local(lambda: made.append(1) or [0])
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        for loop, n in ((first, 3), (second, 5), (first, 2)):
            for _ in range(n):
                on_loop(loop, lambda: counts.get().__setitem__(0, counts.get()[0] + 1))
        assert sorted(c[0] for c in counts.values()) == [5, 5]
        assert len(made) == 2
        assert on_loop(first, counts.get) is not on_loop(second, counts.get)
    finally:
        first.close()
        second.close()


def test_off_spdk_threads_a_value_per_os_thread():
    seen = thread.local(lambda: threading.get_ident())
    results = []
    together = threading.Barrier(4)  # (all alive at once: an ended thread's id is reused)

    def work():
        results.append(seen.get())
        together.wait()
    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(set(results)) == 4 and sorted(seen.values()) == sorted(results)


def test_counts_from_several_threads_add_up():
    counts = IoCounts(4)
    loops = [asyncio.new_event_loop() for _ in range(3)]
    barrier = threading.Barrier(len(loops))

    def work(loop, kind):
        barrier.wait()
        for _ in range(10000):
            on_loop(loop, lambda: counts.here().__setitem__(kind, counts.here()[kind] + 1))
        on_loop(loop, lambda: counts.here().__setitem__(-1, counts.here()[-1] + 1))
    try:
        workers = [threading.Thread(target=work, args=(loop, i % 2))
                   for i, loop in enumerate(loops)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert counts.python_ios() == [20000, 10000, 0, 0]
        assert counts.exceptions() == 3
    finally:
        for loop in loops:
            loop.close()


def test_no_counts_yet_are_zeros():
    assert IoCounts(3).python_ios() == [0, 0, 0] and IoCounts(3).exceptions() == 0


@pytest.mark.parametrize("setting,gil,together", [
    ("", True, False), ("auto", True, False), ("off", True, True), ("on", True, False),
    ("", False, True), ("on", False, False), ("OFF", False, True)])
def test_the_executor_mode_follows_the_gil_unless_set(monkeypatch, setting, gil, together):
    monkeypatch.setenv(executor.SETTING, setting)
    monkeypatch.setattr(executor, "gil_enabled", lambda: gil)
    assert executor.together() is together
    assert ("together" in executor.describe(together)) is together


def test_a_bad_setting_is_logged_and_auto(monkeypatch):
    lines = []
    monkeypatch.setenv(executor.SETTING, "sometimes")
    monkeypatch.setattr(executor, "gil_enabled", lambda: True)
    monkeypatch.setattr(executor.log, "error", lines.append)
    assert executor.together() is False
    assert lines and "expected on, off or auto" in lines[0]


def test_a_batch_in_its_slot_leaves_its_carrier_across_a_cancel_all():
    # A delete's cancel_all (the app thread) while another reactor is inside
    # an async hook's batch: that batch's end() still leaves its carrier, so
    # the thread's next batch can enter one (3.14 keeps asyncio's current
    # task per OS thread: a carrier never left blocked every later batch).
    class Engine:
        name = "Disk0"

    tasks = HookTasks(Engine(), keep=lambda io: 0, go_on=0, statuses=frozenset())
    loop = asyncio.new_event_loop()
    try:
        on_loop(loop, tasks.begin)
        deleting = threading.Thread(target=tasks.cancel_all, args=("being deleted",))
        deleting.start()
        deleting.join()
        on_loop(loop, tasks.end)
        assert on_loop(loop, asyncio.current_task) is None
        slot = on_loop(loop, tasks.begin)        # the next batch enters a carrier
        assert on_loop(loop, asyncio.current_task) is slot.carrier.task
        on_loop(loop, tasks.end)
        loop.run_until_complete(asyncio.sleep(0.01))   # the cancels, on the loop
    finally:
        loop.close()
