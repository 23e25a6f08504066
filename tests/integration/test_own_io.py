"""Python drives SPDK itself: its own I/O to bdevs (spdk_py.bdev_desc,
spdk_py.io_channel), pollers and messages (spdk_py.thread), and Python
programs on an application's app thread (spdk_py.app), in real SPDK
processes. Data is checked by data: patterns written, read back, compared."""

import errno
import json
import time

import pytest

from spdk_py.tools.process import RpcError, run_app

PLUGINS = "spdk_py.passthru,tests.plugins.own_io"


def malloc(name="Malloc0", blocks=8192, block_size=512):
    return {"method": "bdev_malloc_create",
            "params": {"name": name, "num_blocks": blocks, "block_size": block_size}}


def config(*entries, options=None):
    bdev = ([{"method": "bdev_set_options", "params": options}] if options else []) + list(entries)
    return {"subsystems": [{"subsystem": "bdev", "config": bdev}]}


@pytest.fixture
def target(spdk_app, py_env):
    def start(cfg=None, cpumask="0x1"):
        return spdk_app("spdk_tgt", env=py_env(PLUGINS), config=cfg or config(malloc()),
                        cpumask=cpumask)
    return start


@pytest.mark.parametrize("block_size", [512, 4096])
def test_round_trip_checks_the_data(target, block_size):
    tgt = target(config(malloc(block_size=block_size, blocks=2048)))
    out = tgt.rpc("test_own_io_round_trip", bdev="Malloc0", offset_blocks=100)
    assert out["write"] == 0 and out["read"] == 0 and out["read_matches"], out
    assert out["flush"] == 0 and out["write_zeroes"] == 0 and out["reset"] == 0, out
    assert out["readv"] == 0 and out["zeros"], out
    compares = 0
    if "compare_same" in out:  # malloc has COMPARE from SPDK 20.10
        assert out["compare_same"] == 0 and out["compare_other"] == -errno.EILSEQ, out
        compares = 2
    assert out["stats"] == {"submitted": 6 + compares, "outstanding": 0, "nomem_waits": 0,
                            "exceptions": 0}, out


def test_round_trip_through_the_python_passthru_and_a_python_disk(target):
    def disk(name):
        return {"method": "bdev_python_disk_create", "params": {
            "name": name, "plugin": "examples.ramdisk:RamDisk", "num_blocks": 4096}}
    tgt = target(config(disk("PyDisk0"), disk("PyDisk1"), {
        "method": "bdev_python_passthru_create", "params": {
            "base_bdev_name": "PyDisk0", "name": "PT0", "mode": "python"}}))
    for bdev in ("PT0", "PyDisk1"):
        out = tgt.rpc("test_own_io_round_trip", bdev=bdev)
        assert out["read_matches"] and out["zeros"] and out["write"] == 0, (bdev, out)
    # PT0 claimed its base: no other writer may open it.
    with pytest.raises(RpcError) as err:
        tgt.rpc("test_own_io_round_trip", bdev="PyDisk0")
    assert err.value.code == -errno.EPERM, err.value


def test_refused_ios_raise_at_once_and_never_complete(target):
    out = target().rpc("test_own_io_refused", bdev="Malloc0")
    assert out["past_end"] == "EINVAL" and out["read_only"] == "EBADF", out
    assert out["short_buffer"].startswith("ValueError"), out
    assert out["outstanding"] == 0 and out["after_close"] == "EBADF", out


def test_bad_bdev_names_are_errors(target):
    tgt = target()
    with pytest.raises(RpcError) as err:
        tgt.rpc("test_own_io_round_trip", bdev="Nope0")
    assert err.value.code == -errno.ENODEV and "Nope0" in err.value.message


def test_every_io_completes_once_under_load(target):
    out = target().rpc("test_own_io_load", bdev="Malloc0", ios=20000, queue_depth=64)
    assert out["completed"] == out["unique"] == 20000 and out["twice"] == 0, out
    assert out["failed"] == 0, out


def test_a_tiny_bdev_io_pool_waits_instead_of_failing(target):
    # 32 bdev_ios for the whole target: a queue depth of 128 runs out, and
    # every I/O still goes through, none failed. (A per-thread cache it must
    # have: SPDK wakes an I/O waiting for a bdev_io only when one returns to
    # that cache.)
    tgt = target(config(malloc(), options={"bdev_io_pool_size": 32, "bdev_io_cache_size": 8}))
    out = tgt.rpc("test_own_io_load", bdev="Malloc0", ios=5000, queue_depth=128)
    assert out["completed"] == out["unique"] == 5000 and out["twice"] == 0, out
    assert out["failed"] == 0 and out["nomem_waits"] > 0, out


def test_a_callback_that_raises_is_logged_and_the_rest_go_on(target):
    tgt = target()
    out = tgt.rpc("test_own_io_load", bdev="Malloc0", ios=2000, queue_depth=16, raise_every=100)
    assert out["completed"] == 2000 and out["twice"] == 0 and out["exceptions"] == 19, out
    assert "injected callback fault" in tgt.log_text()
    assert tgt.rpc("test_own_io_round_trip", bdev="Malloc0")["read_matches"]


def test_close_with_ios_in_flight_completes_them_first(target):
    out = target().rpc("test_own_io_close_in_flight", bdev="Malloc0", ios=256)
    assert out["completed"] == out["ok"] == 256 and out["after_close"] == "ENODEV", out


def test_pollers_timers_messages_and_io_on_every_thread(target):
    tgt = target(cpumask="0x3")
    out = tgt.rpc("test_threads", bdev="Malloc0")
    assert len(out["threads"]) >= 2 and out["home"] in out["threads"], out
    assert out["visited"] == out["threads"] and out["back_home"], out
    assert out["poller_ticks"] >= 5 and "cancelled timer fired" not in str(out), out
    assert [ok for _, ok in out["io"]] == [True] * len(out["threads"]), out
    assert [name for name, _ in out["io"]] == out["threads"], out
    assert out["channels"] == len(out["threads"]) and out["channels_after_close"] == 0, out


def test_a_thread_made_on_a_core_runs_there_does_io_and_exits(target):
    tgt = target(cpumask="0x3")
    out = tgt.rpc("test_thread_create", core=1, bdev="Malloc0")
    assert out["there"] == ["test_made", [1]], out  # its name, and the core its reactor is pinned to
    assert out["io_matches"] and not out["exited_before"], out
    assert out["exited"] and out["send_after_exit"] in ("LookupError", "OSError"), out
    out = tgt.rpc("test_thread_create", core=0)  # the app thread's core takes another
    assert out["there"] == ["test_made", [0]] and out["exited"], out
    with pytest.raises(RpcError) as err:
        tgt.rpc("test_thread_create", core=5)
    assert err.value.code == -32602 and "no reactor on core 5" in err.value.message, err.value
    assert "the app's reactors are on [0, 1]" in err.value.message, err.value
    assert tgt.rpc("test_own_io_round_trip", bdev="Malloc0")["read_matches"]  # still serving


@pytest.mark.parametrize("claim", [False, True])
def test_a_removed_bdev_reaches_python_and_its_descriptor_closes(target, claim):
    tgt = target(config(malloc(), malloc("Malloc1")))
    assert tgt.rpc("test_own_io_hold", bdev="Malloc1", key="m1", claim=claim)["claimed"] == claim
    if claim:  # no other module may claim it now
        with pytest.raises(RpcError):
            tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc1", name="PT1")
    tgt.rpc("bdev_malloc_delete", name="Malloc1")
    state = tgt.rpc("test_own_io_held", key="m1")
    assert state["events"] == [0] and state["closed"] and state["channels"] == 0, state
    assert "Malloc1" not in [b["name"] for b in tgt.rpc("bdev_get_bdevs")]


def test_shutdown_with_a_bdev_held_open(target):
    tgt = target()
    tgt.rpc("test_own_io_hold", bdev="Malloc0", key="m0")
    assert tgt.stop() == 0


def test_hello_bdev_in_python(spdk_install, py_env):
    rc, out = run_app(spdk_install, "spdk_tgt", config(malloc()), [],
                      env=py_env(main="examples.hello_bdev:main"), timeout=60)
    assert rc == 0, out
    assert "Read string from bdev : Hello World!" in out, out


def test_a_main_that_fails_stops_the_app_with_status_1(spdk_install, py_env):
    env = py_env(main="examples.hello_bdev:main")
    env["SPDK_PY_HELLO_BDEV"] = "Missing0"
    rc, out = run_app(spdk_install, "spdk_tgt", config(malloc()), [], env=env, timeout=60)
    assert rc == 1 and "cannot open bdev Missing0" in out, out


def iogen(spdk_install, py_env, cfg, cpumask="0x1", **params):
    env = dict(py_env(main="examples.io_generator:main"), SPDK_PY_IOGEN=json.dumps(params))
    rc, out = run_app(spdk_install, "spdk_tgt", cfg, [], env=env, timeout=60, cpumask=cpumask)
    line = next((ln for ln in out.splitlines() if ln.startswith("iogen result: ")), None)
    assert line is not None, out
    return rc, json.loads(line[len("iogen result: "):]), out


@pytest.mark.parametrize("engine,workload", [("coroutines", "randread"),
                                             ("coroutines", "verify"), ("bulk", "randread"),
                                             ("bulk", "randwrite")])
def test_the_io_generator(spdk_install, py_env, engine, workload):
    rc, result, out = iogen(spdk_install, py_env, config(malloc(blocks=16384)), bdev="Malloc0",
                            engine=engine, workload=workload, queue_depth=32, seconds=1)
    assert rc == 0 and result["errors"] == 0 and result["mismatches"] == 0, out
    assert result["iops"] > 1000 and result["ios"] > 1000, result


@pytest.mark.parametrize("engine,workload", [("coroutines", "verify"), ("bulk", "randwrite")])
def test_the_io_generator_runs_a_job_on_each_core(spdk_install, py_env, engine, workload):
    rc, result, out = iogen(spdk_install, py_env, config(malloc(blocks=16384)), cpumask="0x3",
                            bdev="Malloc0", engine=engine, workload=workload, queue_depth=16,
                            seconds=1, cores=[0, 1])
    assert rc == 0 and result["errors"] == 0 and result["mismatches"] == 0, out
    # Both jobs ran (with a GIL, not evenly: the bulk engine's reactor that
    # holds it starves the other's completions, NOTES "Own I/O on 2 reactors").
    assert len(result["job_iops"]) == 2 and min(result["job_iops"]) > 0, result
    assert "error" not in out.lower().replace("errors", ""), out  # the job threads ended cleanly


def test_the_io_generator_counts_failed_ios(spdk_install, py_env):
    # A Python disk whose every write hook raises: each I/O completes, failed, and counted.
    cfg = config({"method": "bdev_python_disk_create", "params": {
        "name": "Bad0", "plugin": "tests.plugins.slow_disk:SlowDisk", "num_blocks": 4096,
        "params": {"raise_every": 1}}})
    rc, result, out = iogen(spdk_install, py_env, cfg, bdev="Bad0", engine="bulk",
                            workload="randwrite", queue_depth=8, seconds=1)
    assert rc == 1 and result["errors"] == result["ios"] > 0, out


@pytest.mark.parametrize("engine", ["coroutines", "bulk"])
def test_shutdown_with_the_generator_running(spdk_app, py_env, engine):
    env = dict(py_env(PLUGINS, main="examples.io_generator:main"),
               SPDK_PY_IOGEN=json.dumps({"bdev": "Malloc0", "engine": engine, "seconds": 60}))
    tgt = spdk_app("spdk_tgt", env=env, config=config(malloc()))
    time.sleep(1.5)
    assert tgt.stop(timeout=30) == 0, tgt.log_text()
    assert "raised" not in tgt.log_text(), tgt.log_text()


def test_an_io_device_of_pythons_and_for_each_channel(target):
    out = target(cpumask="0x3").rpc("test_io_device")
    threads = out["threads"]
    assert len(threads) >= 2 and out["kept"] == [True] * len(threads), out
    # Each channel visited on its own thread, with that thread's state.
    assert sorted(out["seen"]) == sorted([name, i + 1, name] for i, name in enumerate(threads))
    assert out["status"] == 0 and out["stopped"] == 1, out
    assert sorted(out["destroyed"]) == sorted(threads), out
