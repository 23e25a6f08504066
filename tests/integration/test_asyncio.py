"""asyncio on SPDK's threads, in real SPDK processes: an event loop per SPDK
thread, standard asyncio code in RPC handlers, async hooks of disks and
vbdevs (data checked by bdevperf's verify), and their I/Os ending exactly
once at a timeout, a delete and the app's shutdown."""

import socket
import socketserver
import threading
import time

import pytest

from spdk_py.tools.process import RpcError, parse_bdevperf, run_app
from tests.integration.test_hybrid import perform_tests_in_background

PLUGINS = "spdk_py.passthru,tests.plugins.asyncio_checks,tests.plugins.async_hooks"
ASYNC_DISK = "tests.plugins.async_hooks:AsyncRamDisk"
NOTHING_DISK = "tests.plugins.async_hooks:AwaitNothingRamDisk"


def disk(name, plugin=ASYNC_DISK, num_blocks=65536, **params):
    return {"method": "bdev_python_disk_create",
            "params": {"name": name, "plugin": plugin, "num_blocks": num_blocks,
                       "params": params}}


def config(*entries):
    return {"subsystems": [{"subsystem": "bdev", "config": list(entries)}]}


@pytest.fixture
def echo_port():
    class Echo(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(self.rfile.readline())
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_standard_asyncio_runs_in_an_rpc_handler(spdk_app, py_env, echo_port):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS))
    out = target.rpc("test_asyncio_basics", port=echo_port)
    assert out["loop"] == "SpdkEventLoop", out
    assert out["gather"] == [0, 2, 4, 6, 8] and out["task_group"] == [0, 2, 4], out
    assert out["wait_for"] == out["timeout"] == "timed out", out
    assert 20 <= out["slept_ms"] < 500, out
    assert out["echo"] == "ping", out
    assert out["executor"]["ran_on"].startswith("spdk_py_executor") and \
        out["executor"]["back_on"], out
    assert out["threadsafe"] == "from a thread" and out["back_home"], out


def test_each_spdk_thread_runs_its_own_loop(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), cpumask="0x3")
    out = target.rpc("test_asyncio_loops")
    assert len(out["seen"]) >= 2 and out["distinct"] == len(out["seen"]), out


def test_a_callback_that_raises_is_logged_and_the_loop_goes_on(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS))
    assert target.rpc("test_asyncio_callback_raises") is True
    assert target.rpc("test_asyncio_callback_raises") is True
    assert "ZeroDivisionError" in target.log_text()


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
@pytest.mark.parametrize("params", [{}, {"sleep_ms": 1}], ids=["awaiting_nothing", "awaiting"])
def test_async_disk_hooks_verify_clean(spdk_install, py_env, cpumask, params, executor_lock):
    rc, out = run_app(spdk_install, "bdevperf", config(disk("Async0", **params)),
                      ["-q", 32, "-o", 4096, "-w", "verify", "-t", 2, "-C"],
                      env=py_env(PLUGINS), cpumask=cpumask, mem_mb=512, timeout=120)
    result = parse_bdevperf(out)
    assert rc == 0 and not result.failed and "mismatch" not in out, out
    assert result.total.iops > 0 and "ERROR" not in out, out


@pytest.mark.parametrize("sleep_ms", [0, 1], ids=["in_its_first_step", "in_its_task"])
def test_an_async_hook_that_raises_fails_its_io_with_a_log_line(spdk_app, py_env, sleep_ms):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS + ",tests.plugins.own_io"),
                      config=config(disk("Async0", sleep_ms=sleep_ms, raise_every=2)))
    data = ("5a" * 512)
    outcomes = []
    for lba in range(4):
        try:
            target.rpc("test_own_io_write", bdev="Async0", offset_blocks=lba, data=data)
            outcomes.append("ok")
        except RpcError:
            outcomes.append("failed")
    assert outcomes == ["ok", "failed", "ok", "failed"], outcomes
    assert "injected async write fault" in target.log_text()
    stats = target.rpc("bdev_python_disk_get_stats", name="Async0")
    assert stats["exceptions"] == 2 and stats["pending"] == 0, stats


def test_a_task_that_never_ends_is_cancelled_at_the_ios_timeout(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS + ",tests.plugins.own_io"),
                      config=config(disk("Stuck0", stuck=True, timeout_ms=300)))
    started = time.monotonic()
    with pytest.raises(RpcError):
        target.rpc("test_own_io_read", bdev="Stuck0", offset_blocks=0, num_blocks=1)
    assert 0.25 < time.monotonic() - started < 10
    assert "timed out after 300 ms" in target.log_text()
    assert target.rpc("bdev_python_disk_get_stats", name="Stuck0")["pending"] == 0


@pytest.mark.parametrize("how", ["delete", "shutdown"])
def test_delete_or_shutdown_with_tasks_pending_ends_their_ios(spdk_app, py_env, how,
                                                              executor_lock):
    # Every read waits for ever; bdevperf keeps 16 out from each of two
    # reactors (-C). A delete or the app's stop, on the first, cancels the
    # tasks of both (each on its own thread) and fails their I/Os: none is
    # lost, nothing hangs (bdevperf waits for every I/O before it reports).
    # (-f: modern bdevperf would otherwise stop the app at its jobs' first
    # failed I/O, racing the delete's unregister; 20.07's then runs its -t.)
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), mem_mb=512, cpumask="0x3",
                    config=config(disk("Stuck0", stuck=True, timeout_ms=600000)),
                    args=["-z", "-C", "-f", "-q", 16, "-o", 4096, "-w", "randread", "-t", 8])
    thread, outcome = perform_tests_in_background(perf, 30)
    deadline = time.monotonic() + 20
    while perf.rpc("bdev_python_disk_get_stats", name="Stuck0")["pending"] < 32:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    if how == "delete":
        assert perf.rpc("bdev_python_disk_delete", name="Stuck0") is True
        thread.join(timeout=60)
        assert not thread.is_alive(), "bdevperf hung: an I/O was never completed"
        log = perf.log_text()
        assert "the disk is being deleted" in log
        # An I/O bdevperf resubmits as the delete runs ends with the others,
        # not at the hook's own 30 s timeout.
        assert "TimeoutError" not in log, log
    else:
        # bdevperf exits by itself (255: its jobs saw failed I/Os), no signal, no hang.
        rc = perf.stop(timeout=30)
        log = perf.log_text()
        assert rc in (0, 255), log
        assert log.count("the app is stopping: its I/O fails") >= 32, log
        assert "still registered" not in log and "Traceback" not in log, log


def test_an_async_vbdev_hook_holds_writes_until_its_gate_opens(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS + ",tests.plugins.own_io"), config=config(
        {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 8192,
                                                    "block_size": 512}},
        {"method": "bdev_gated_create", "params": {"base_bdev_name": "Malloc0",
                                                   "name": "Gated0"}}))
    data = "c3" * 512
    target.rpc("test_own_io_write", bdev="Gated0", offset_blocks=3, data=data)
    assert target.rpc("bdev_gated_set", name="Gated0", open=False) == 0
    # (the held write goes on its own connection: the target's client is busy meanwhile)
    from spdk.rpc.client import JSONRPCClient
    answers = []
    writer = threading.Thread(target=lambda: answers.append(JSONRPCClient(
        str(target.rpc_socket), timeout=30).call("test_own_io_write", {
            "bdev": "Gated0", "offset_blocks": 5, "data": data})))
    writer.start()
    time.sleep(0.5)
    assert writer.is_alive() and not answers, "the write went on with the gate closed"
    assert target.rpc("bdev_gated_set", name="Gated0", open=True) == 1
    writer.join(timeout=30)
    assert answers == [True]
    # A hook that raises before any wait fails its write only; the next goes on.
    target.rpc("bdev_gated_set", name="Gated0", open=True, refuse=True)
    with pytest.raises(RpcError):
        target.rpc("test_own_io_write", bdev="Gated0", offset_blocks=6, data="00" * 512)
    target.rpc("bdev_gated_set", name="Gated0", open=True, refuse=False)
    target.rpc("test_own_io_write", bdev="Gated0", offset_blocks=7, data=data)
    assert "injected gated write fault" in target.log_text()
    for lba, expected in ((5, data), (6, "00" * 512), (7, data)):
        assert target.rpc("test_own_io_read", bdev="Malloc0", offset_blocks=lba,
                          num_blocks=1) == expected, lba


def test_async_hooks_off_the_reactor_are_refused(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS))
    with pytest.raises(RpcError) as refused:
        target.rpc_raw(**disk("Off0", "tests.plugins.async_hooks:OffReactorAsyncRamDisk"))
    assert refused.value.code == -32602 and "async hooks" in str(refused.value), refused.value
    assert target.rpc("bdev_get_bdevs") == []


def test_idle_loops_cost_a_reactor_nothing(spdk_app, py_env):
    # After the RPCs' tasks end, no loop keeps a poller: an SPDK thread may
    # exit (bdevperf's job threads do, at its end) and the app stops at once.
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS))
    target.rpc("test_asyncio_loops")
    started = time.monotonic()
    assert target.stop(timeout=30) == 0
    assert time.monotonic() - started < 5 and "got timeout" not in target.log_text()


def test_the_loops_of_exited_threads_are_dropped(spdk_app, py_env):
    # bdevperf makes SPDK threads for each run's jobs (modern SPDK ends them
    # with the run; 20.07 keeps them): each enters Python (the async disk's
    # I/O) and gets a loop. Loops grow no faster than SPDK's live threads.
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), mem_mb=512, cpumask="0x3",
                    config=config(disk("Async0")),
                    args=["-z", "-C", "-q", 8, "-o", 4096, "-w", "randread", "-t", 1])
    loops, threads = [], []
    for _ in range(3):
        thread, outcome = perform_tests_in_background(perf, 1)
        thread.join(timeout=60)
        assert not thread.is_alive() and "error" not in outcome, outcome
        loops.append(perf.rpc("spdk_py_get_objects")["loops"])
        threads.append(len(perf.rpc("thread_get_stats")["threads"]))
    assert loops[0] >= 2, (loops, threads)
    assert loops[2] - loops[1] <= threads[2] - threads[1], (loops, threads)
