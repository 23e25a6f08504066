"""The RAID1 mirror in Python (examples/mirror.py, on spdk_py.base_bdevs), in
real SPDK processes: bdevperf verify over it, a base removed under that load
and added back (resynced under it), both bases then the same byte for byte;
save_config and --json restore; NVMe/TCP from a second SPDK process; bad
input answered with errors."""

import errno
import os
import threading
import time

import pytest

from spdk_py.tools import nvmf
from spdk_py.tools.process import RpcError, parse_bdevperf, rpc_py, run_app
from tests.integration.test_hybrid import perform_tests_in_background

PLUGINS = "spdk_py.passthru,examples.mirror,tests.plugins.own_io"
BLOCKS, BLOCK = 16384, 512  # 8 MiB bases
INVALID_PARAMS = -32602


def aio(name, path):
    return {"method": "bdev_aio_create", "params": {"name": name, "filename": str(path),
                                                   "block_size": BLOCK}}


def malloc(name, blocks=BLOCKS, block_size=BLOCK):
    return {"method": "bdev_malloc_create", "params": {"name": name, "num_blocks": blocks,
                                                      "block_size": block_size}}


def mirror(name="Mirror0", bases=("Aio0", "Aio1")):
    return {"method": "bdev_pymirror_create", "params": {"name": name, "base_bdevs": list(bases)}}


def config(*entries):
    return {"subsystems": [{"subsystem": "bdev", "config": list(entries)}]}


def images(tmp_path, count=2, same=True):
    """count backing files, all holding the same random data (or each its own)."""
    data = os.urandom(BLOCKS * BLOCK)
    paths = []
    for i in range(count):
        path = tmp_path / ("base%d.img" % i)
        path.write_bytes(data if same else os.urandom(BLOCKS * BLOCK))
        paths.append(path)
    return paths


def state(target, name="Mirror0"):
    return target.rpc("bdev_pymirror_get", name=name)


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
def test_verify_clean(spdk_install, py_env, tmp_path, cpumask):
    paths = images(tmp_path)
    rc, out = run_app(spdk_install, "bdevperf",
                      config(aio("Aio0", paths[0]), aio("Aio1", paths[1]), mirror()),
                      ["-q", 32, "-o", 4096, "-w", "verify", "-t", 2, "-C"],
                      env=py_env(PLUGINS), cpumask=cpumask, mem_mb=512, timeout=120)
    result = parse_bdevperf(out)
    assert rc == 0 and not result.failed and "mismatch" not in out, out
    assert [j.name for j in result.jobs].count("Mirror0") == bin(int(cpumask, 16)).count("1"), out
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_writes_reach_every_base_and_reads_come_back(spdk_app, py_env, tmp_path):
    paths = images(tmp_path, same=False)
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS),
                      config=config(aio("Aio0", paths[0]), aio("Aio1", paths[1]), mirror()))
    pattern = os.urandom(16 * BLOCK)  # (in hex, well inside an RPC request's size)
    target.rpc("test_own_io_write", bdev="Mirror0", offset_blocks=1000, data=pattern.hex())
    for _ in range(3):  # round robin: both bases serve
        assert target.rpc("test_own_io_read", bdev="Mirror0", offset_blocks=1000,
                          num_blocks=16) == pattern.hex()
    info = state(target)
    assert info["state"] == "online" and [b["state"] for b in info["base_bdevs"]] == \
        ["online", "online"], info
    assert all(b["ios"] >= 2 for b in info["base_bdevs"]), info  # the write, and a read each
    out = target.rpc("test_own_io_round_trip", bdev="Mirror0")
    assert out["read_matches"] and out["zeros"] and out["reset"] == 0, out
    assert target.stop() == 0
    for path in paths:
        assert path.read_bytes()[1000 * BLOCK:1016 * BLOCK] == pattern


def test_a_base_removed_under_verify_then_added_back_and_resynced(spdk_app, py_env, tmp_path,
                                                                  executor_lock):
    paths = images(tmp_path)
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), mem_mb=512, cpumask="0x3",
                    config=config(aio("Aio0", paths[0]), aio("Aio1", paths[1]), mirror()),
                    args=["-z", "-q", 32, "-o", 4096, "-w", "verify", "-t", 10, "-C"])
    thread, outcome = perform_tests_in_background(perf, 10)
    time.sleep(2)
    perf.rpc("bdev_aio_delete", name="Aio1")
    info = state(perf)
    assert info["state"] == "degraded" and info["base_bdevs"][1]["state"] == "failed", info
    time.sleep(1)
    # The same file back (stale now): the resync rewrites all of it under load.
    perf.rpc("bdev_aio_create", name="Aio1", filename=str(paths[1]), block_size=BLOCK)
    assert perf.rpc("bdev_pymirror_add_base", name="Mirror0", base_bdev_name="Aio1") is True
    seen_progress = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = state(perf)
        seen_progress = seen_progress or "resync" in info
        if info["state"] == "online":
            break
        time.sleep(0.1)
    assert info["state"] == "online" and info["resyncs_done"] == 1, info
    assert "resync" in perf.rpc("bdev_get_bdevs", name="Mirror0")[0]["driver_specific"][
        "python_disk"] or seen_progress, info
    assert thread.is_alive(), "the resync outlasted the load: it was not under load"
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(perf.log_text())
    assert not result.failed and "mismatch" not in perf.log_text(), perf.log_text()
    assert perf.stop() == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_a_base_failing_its_ios_under_verify_leaves_the_mirror_serving(spdk_app, py_env):
    # SPDK's error bdev fails every I/O of one base from mid-run: C routes the
    # children, fails that base for every reactor at its first failed child
    # (a read is retried on the other base), and Python hears of it.
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), mem_mb=512, cpumask="0x3",
                    config=config(malloc("Malloc0"), malloc("Malloc1"),
                                  {"method": "bdev_error_create",
                                   "params": {"base_name": "Malloc1"}},
                                  mirror(bases=("Malloc0", "EE_Malloc1"))),
                    args=["-z", "-q", 32, "-o", 4096, "-w", "verify", "-t", 4, "-C"])
    thread, outcome = perform_tests_in_background(perf, 4)
    time.sleep(1)
    before = state(perf)
    assert before["state"] == "online", before
    perf.rpc("bdev_error_inject_error", name="EE_Malloc1", io_type="all", error_type="failure",
             num=1 << 30)
    deadline = time.monotonic() + 10
    while state(perf)["state"] != "degraded" and time.monotonic() < deadline:
        time.sleep(0.1)
    info = state(perf)
    failed = info["base_bdevs"][1]
    assert info["state"] == "degraded" and failed["state"] == "failed", info
    assert failed["errors"] >= 1 and failed["routed_ios"] > 0, info
    served_before = info["base_bdevs"][0]["routed_ios"]
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(perf.log_text())
    assert not result.failed and "mismatch" not in perf.log_text(), perf.log_text()
    after = state(perf)
    # The load went on, routed to the base left, and none to the failed one.
    assert after["base_bdevs"][0]["routed_ios"] > served_before, after
    assert after["base_bdevs"][1]["routed_ios"] == failed["routed_ios"], after
    assert perf.stop() == 0


def test_save_config_and_json_restore(spdk_app, py_env, tmp_path):
    paths = images(tmp_path, same=False)
    base = config(aio("Aio0", paths[0]), aio("Aio1", paths[1]))
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=base)
    target.rpc("bdev_pymirror_create", name="Mirror0", base_bdevs=["Aio0", "Aio1"])
    pattern = os.urandom(16 * BLOCK)
    target.rpc("test_own_io_write", bdev="Mirror0", offset_blocks=7, data=pattern.hex())
    uuid = target.rpc("bdev_get_bdevs", name="Mirror0")[0]["uuid"]
    saved = target.rpc("framework_get_config", name="bdev")
    entry = next(e for e in saved if e["method"] == "bdev_pymirror_create")
    assert entry["params"] == {"name": "Mirror0", "uuid": uuid, "base_bdevs": ["Aio0", "Aio1"]}
    assert target.stop() == 0
    again = spdk_app("spdk_tgt", env=py_env(PLUGINS),
                     config={"subsystems": [{"subsystem": "bdev", "config": saved}]})
    assert again.rpc("bdev_get_bdevs", name="Mirror0")[0]["uuid"] == uuid
    assert again.rpc("test_own_io_read", bdev="Mirror0", offset_blocks=7,
                     num_blocks=16) == pattern.hex()


def served(spdk_app, py_env, seconds, *workload):
    """A mirror over two malloc bdevs, exported over NVMe/TCP, and a bdevperf
    host running workload on it: (target, host, its thread, its outcome)."""
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), cpumask="0x1", mem_mb=512,
                      config=config(malloc("Malloc0"), malloc("Malloc1"),
                                    mirror(bases=("Malloc0", "Malloc1"))))
    port = nvmf.free_port()
    nqn = nvmf.export(target, "Mirror0", port)
    host = spdk_app("bdevperf", config=nvmf.initiator_config(port, nqn), cpumask="0x2",
                    mem_mb=512, args=["-z", "-o", 4096, "-t", seconds, *workload])
    return (target, host) + perform_tests_in_background(host, seconds)


def test_over_nvme_tcp_from_a_second_spdk_process(spdk_app, py_env):
    target, host, thread, outcome = served(spdk_app, py_env, 2, "-q", 16, "-w", "verify")
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(host.log_text())
    assert not result.failed and result.total.iops > 0, host.log_text()
    assert host.stop() == 0


def test_a_mirror_waits_for_bases_that_do_not_exist_yet(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(malloc("Malloc0")))
    assert target.rpc("bdev_pymirror_create", name="Mirror0",
                      base_bdevs=["Malloc0", "Malloc1"]) == "Mirror0"
    assert state(target) == {"name": "Mirror0", "state": "configuring", "missing": ["Malloc1"]}
    saved = target.rpc("framework_get_config", name="bdev")
    assert {"method": "bdev_pymirror_create", "params": {
        "name": "Mirror0", "base_bdevs": ["Malloc0", "Malloc1"]}} in saved, saved
    target.rpc("bdev_malloc_create", name="Malloc1", num_blocks=BLOCKS, block_size=BLOCK)
    assert state(target)["state"] == "online"
    assert target.rpc("test_own_io_round_trip", bdev="Mirror0")["read_matches"]
    target.rpc("bdev_pymirror_create", name="Mirror1", base_bdevs=["Later0"])
    assert target.rpc("bdev_pymirror_delete", name="Mirror1") is True
    with pytest.raises(RpcError):
        state(target, "Mirror1")


def test_delete_releases_the_bases(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS),
                      config=config(malloc("Malloc0"), malloc("Malloc1"),
                                    mirror(bases=("Malloc0", "Malloc1"))))
    assert target.rpc("bdev_pymirror_delete", name="Mirror0") is True
    assert "Mirror0" not in [b["name"] for b in target.rpc("bdev_get_bdevs")]
    # Unclaimed again: another module may take them.
    target.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0")
    target.rpc("bdev_malloc_delete", name="Malloc1")


def test_rpcs_through_rpc_py(spdk_install, spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS),
                      config=config(malloc("Malloc0"), malloc("Malloc1"), malloc("Malloc2")))

    def run(*args):
        answer = rpc_py(spdk_install, target.rpc_socket, *args, plugins=PLUGINS)
        assert answer.returncode == 0, answer.stderr
        return answer.stdout

    run("bdev_pymirror_create", "-n", "Mirror0", "-b", "Malloc0 Malloc1")
    assert '"online"' in run("bdev_pymirror_get", "-n", "Mirror0")
    run("bdev_pymirror_add_base", "-n", "Mirror0", "-b", "Malloc2")
    deadline = time.monotonic() + 30
    while state(target)["state"] != "online" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [b["name"] for b in state(target)["base_bdevs"]] == ["Malloc0", "Malloc1", "Malloc2"]
    run("bdev_pymirror_delete", "-n", "Mirror0")
    assert "Mirror0" not in [b["name"] for b in target.rpc("bdev_get_bdevs")]


def test_a_resync_keeps_under_its_bandwidth_limit_and_copies_the_data(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(
        malloc("Malloc0"), malloc("Malloc1"), malloc("Malloc2"),
        mirror(bases=("Malloc0", "Malloc1"))))
    pattern = {lba: os.urandom(BLOCK).hex() for lba in (0, 4321, BLOCKS - 1)}
    for lba, data in pattern.items():
        target.rpc("test_own_io_write", bdev="Mirror0", offset_blocks=lba, data=data)
    started = time.monotonic()
    assert target.rpc("bdev_pymirror_add_base", name="Mirror0", base_bdev_name="Malloc2",
                      resync_max_bandwidth_mb_sec=8) is True
    resync = state(target)["resync"]
    assert resync["base_bdev"] == "Malloc2" and resync["max_bandwidth_mb_sec"] == 8, resync
    while state(target)["state"] != "online" and time.monotonic() < started + 30:
        time.sleep(0.05)
    took = time.monotonic() - started
    # 8 MiB at 8 MB/s: one second at least (the last chunk is not waited for).
    assert state(target)["state"] == "online" and took >= 0.9, took
    target.rpc("bdev_pymirror_delete", name="Mirror0")  # the bases keep their data
    for lba, data in pattern.items():
        assert target.rpc("test_own_io_read", bdev="Malloc2", offset_blocks=lba,
                          num_blocks=1) == data, lba


def test_a_tiny_bdev_io_pool_under_verify(spdk_app, py_env):
    # Parents and children share 64 bdev_ios: children wait for them
    # (spdk_bdev_queue_io_wait) and verify stays clean. (At a queue depth of
    # 64 the parents alone would hold them all, and the children could never
    # go: a stacked module needs a pool deeper than its load, in C as here.)
    cfg = config(malloc("Malloc0"), malloc("Malloc1"), mirror(bases=("Malloc0", "Malloc1")))
    cfg["subsystems"][0]["config"].insert(0, {"method": "bdev_set_options", "params": {
        "bdev_io_pool_size": 64, "bdev_io_cache_size": 16}})
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), mem_mb=512, config=cfg,
                    args=["-z", "-q", 32, "-o", 4096, "-w", "verify", "-t", 2])
    thread, outcome = perform_tests_in_background(perf, 2)
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(perf.log_text())
    assert not result.failed and "mismatch" not in perf.log_text(), perf.log_text()
    assert result.total.iops > 0, perf.log_text()
    waits = sum(b["nomem_waits"] for b in state(perf)["base_bdevs"])
    assert waits > 0, state(perf)


@pytest.mark.parametrize("how", ["delete", "shutdown"])
def test_delete_or_shutdown_under_load(spdk_app, py_env, how, executor_lock):
    target, host, thread, outcome = served(spdk_app, py_env, 4, "-q", 32, "-w", "randrw",
                                           "-M", 50)
    time.sleep(1.5)
    if how == "delete":
        assert target.rpc("bdev_pymirror_delete", name="Mirror0") is True
        thread.join(timeout=90)
        assert not thread.is_alive(), "the host hung: an I/O was never completed"
        host.stop()
        # The bases are free again, and the target is well.
        target.rpc("bdev_malloc_delete", name="Malloc1")
        assert target.rpc("bdev_get_bdevs", name="Malloc0")[0]["claimed"] is False
    else:
        host.stop()
        assert target.stop(timeout=30) == 0, target.log_text()
    assert "ERROR: AddressSanitizer" not in target.log_text()


@pytest.mark.parametrize("method,params,code,words", [
    ("bdev_pymirror_create", {"name": "M1", "base_bdevs": ["Malloc2", "Malloc2"]},
     INVALID_PARAMS, "twice"),
    ("bdev_pymirror_create", {"name": "M1", "base_bdevs": []}, INVALID_PARAMS, "non-empty"),
    ("bdev_pymirror_create", {"name": "M1", "base_bdevs": "Malloc0"}, INVALID_PARAMS, "array"),
    ("bdev_pymirror_create", {"name": "M1", "base_bdevs": ["Malloc0", "Malloc4k"]},
     INVALID_PARAMS, "block size"),
    ("bdev_pymirror_create", {"name": "Mirror0", "base_bdevs": ["Malloc2"]}, -errno.EEXIST,
     "exists"),
    ("bdev_pymirror_create", {"name": "M1", "base_bdevs": ["Malloc0"]}, INVALID_PARAMS,
     "claimed"),
    ("bdev_pymirror_add_base", {"name": "Mirror0", "base_bdev_name": "Malloc0"}, -errno.EEXIST,
     "already"),
    ("bdev_pymirror_add_base", {"name": "Mirror0", "base_bdev_name": "Nope"}, -errno.ENODEV,
     "Nope"),
    ("bdev_pymirror_add_base", {"name": "Nope", "base_bdev_name": "Malloc2"}, -errno.ENODEV,
     "Nope"),
    ("bdev_pymirror_add_base", {"name": "Mirror0", "base_bdev_name": "Malloc2",
                                "resync_max_bandwidth_mb_sec": -1}, INVALID_PARAMS, "0 (no limit)"),
    ("bdev_pymirror_get", {"name": "Nope"}, -errno.ENODEV, "Nope"),
    ("bdev_pymirror_delete", {"name": "Nope"}, -errno.ENODEV, "Nope"),
])
def test_bad_input_is_an_error(spdk_app, py_env, method, params, code, words):
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(
        malloc("Malloc0"), malloc("Malloc1"), malloc("Malloc2"),
        malloc("Malloc4k", blocks=2048, block_size=4096), mirror(bases=("Malloc0", "Malloc1"))))
    with pytest.raises(RpcError) as err:
        target.rpc(method, **params)
    assert err.value.code == code and words in err.value.message, err.value
    assert state(target)["state"] == "online"


def test_a_base_needing_more_alignment_than_the_mirror_is_refused(spdk_app, py_env, tmp_path):
    # Children go on the parent's buffers: a mirror asks for its bases'
    # alignment when it is made (an AIO base needs 512 bytes), and one made
    # without that need cannot take such a base later.
    paths = images(tmp_path, count=1)
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(
        malloc("Malloc0"), malloc("Malloc1"), aio("Aio0", paths[0]),
        mirror(bases=("Malloc0", "Malloc1"))))
    with pytest.raises(RpcError) as err:
        target.rpc("bdev_pymirror_add_base", name="Mirror0", base_bdev_name="Aio0")
    assert err.value.code == INVALID_PARAMS and "aligned to 512" in err.value.message, err.value
    assert state(target)["state"] == "online"
    assert target.rpc("bdev_get_bdevs", name="Aio0")[0]["claimed"] is False
    target.rpc("bdev_pymirror_create", name="Mirror1", base_bdevs=["Aio0"])
    assert target.rpc("bdev_pymirror_get", name="Mirror1")["state"] == "online"


def _in_background(target, method, **params):
    """method on a connection of its own, answered later: (thread, outcome)."""
    from spdk.rpc.client import JSONRPCClient
    outcome = {}

    def call():
        try:
            outcome["result"] = JSONRPCClient(str(target.rpc_socket), timeout=30).call(
                method, params)
        except Exception as exc:  # the test reads it
            outcome["error"] = exc
    thread = threading.Thread(target=call)
    thread.start()
    return thread, outcome


def _error_lines(text):
    return [line for line in text.splitlines()
            if "*ERROR*" in line or "raised" in line or "Traceback" in line]


@pytest.mark.parametrize("order", ["bases_then_delete", "a_base_then_delete",
                                   "a_base_during_delete", "shutdown",
                                   "a_base_then_shutdown"])
def test_teardown_in_any_order_logs_no_error(spdk_app, py_env, order):
    # A base removed (bdev_malloc_delete, as a replica's target going away),
    # the mirror deleted, the app shut down: in each order, what goes goes
    # quietly. A base's removal is a notice (degraded), as SPDK's raid logs it.
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), mem_mb=512,
                      config=config(malloc("MirA"), malloc("MirB"),
                                    mirror(bases=("MirA", "MirB"))))
    assert target.rpc("test_own_io_round_trip", bdev="Mirror0")["read_matches"]
    if order == "bases_then_delete":
        target.rpc("bdev_malloc_delete", name="MirA")
        target.rpc("bdev_malloc_delete", name="MirB")
        assert state(target)["state"] == "failed"
        assert target.rpc("bdev_pymirror_delete", name="Mirror0") is True
    elif order == "a_base_then_delete":
        target.rpc("bdev_malloc_delete", name="MirA")
        assert state(target)["state"] == "degraded"
        assert target.rpc("bdev_pymirror_delete", name="Mirror0") is True
        assert target.rpc("bdev_get_bdevs", name="MirB")[0]["claimed"] is False
    elif order == "a_base_during_delete":
        thread, outcome = _in_background(target, "bdev_pymirror_delete", name="Mirror0")
        target.rpc("bdev_malloc_delete", name="MirB")
        thread.join(timeout=30)
        assert outcome.get("result") is True, outcome
        assert target.rpc("bdev_get_bdevs", name="MirA")[0]["claimed"] is False
    elif order == "a_base_then_shutdown":
        target.rpc("bdev_malloc_delete", name="MirB")
    assert "Mirror0" not in [b["name"] for b in target.rpc("bdev_get_bdevs")] \
        or order.endswith("shutdown")
    assert target.stop(timeout=30) == 0, target.log_text()
    assert _error_lines(target.log_text()) == [], target.log_text()
