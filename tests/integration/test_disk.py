"""Python disks (spdk_py.disk): base bdevs implemented in Python, in real
SPDK processes. Data is checked by data: bdevperf's verify, spdk_dd round
trips compared byte for byte, reads over NVMe/TCP of what was written."""

import json
import os
import time

import pytest

from spdk_py.tools import nvmf, shim
from spdk_py.tools.process import RpcError, parse_bdevperf, rpc_py, run_app
from tests.integration.conftest import runs_together
from tests.integration.test_hybrid import iostat, perform_tests_in_background

RAM = "examples.ramdisk:RamDisk"
FILE = "examples.filedisk:FileDisk"
SLOW = "tests.plugins.slow_disk:SlowDisk"
# The same, its hooks on the Python thread (Disk.off_reactor).
SLOW_OFF = "tests.plugins.slow_disk:OffReactorSlowDisk"
# Where each runs its hooks (thread names, as /proc has them).
HOOK_THREADS = {SLOW: "reactor_", SLOW_OFF: "spdk_py_python"}
INVALID_PARAMS, EEXIST, ENODEV = -32602, 17, 19


def disk(name="PyDisk0", plugin=RAM, num_blocks=131072, **params):
    return {"method": "bdev_python_disk_create",
            "params": {"name": name, "plugin": plugin, "num_blocks": num_blocks, **params}}


def config(*entries):
    return {"subsystems": [{"subsystem": "bdev", "config": list(entries)}]}


def bdevperf(spdk_install, py_env, cfg, workload="verify", cpumask="0x1", seconds=2, qd=32,
             io_size=4096, extra=()):
    rc, out = run_app(spdk_install, "bdevperf", cfg,
                      ["-q", qd, "-o", io_size, "-w", workload, "-t", seconds, "-C", *extra],
                      env=py_env(), cpumask=cpumask, mem_mb=512, timeout=120)
    return rc, out, parse_bdevperf(out)


# The file disk's engines: C threads on a buffered file, Linux AIO on an
# O_DIRECT one (examples/filedisk.py).
ENGINES = {"threads": {}, "aio": {"direct": True}}


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
@pytest.mark.parametrize("plugin", [RAM, FILE, FILE + "/aio", SLOW_OFF])
def test_verify_clean(spdk_install, py_env, tmp_path, plugin, cpumask):
    plugin, _, engine = plugin.partition("/")
    params = ({"params": {"path": str(tmp_path / "disk.img"), **ENGINES[engine or "threads"]}}
              if plugin == FILE else {})
    rc, out, result = bdevperf(spdk_install, py_env, config(disk(plugin=plugin, **params)),
                               cpumask=cpumask)
    assert rc == 0 and not result.failed and "mismatch" not in out, out
    jobs = [j for j in result.jobs if j.name == "PyDisk0"]
    assert len(jobs) == bin(int(cpumask, 16)).count("1") and result.total.iops > 0, out


def test_two_reactors_in_python(spdk_app, py_env, executor_lock):
    # The lock on: a reactor that finds Python busy hands its batch to the
    # reactor in it, which runs it and sends it back. Off: each runs its own,
    # together. Either way the verify is clean on both jobs, and Python's
    # count of the I/Os it saw (per thread, summed) is the bdev layer's.
    perf = spdk_app("bdevperf", config=config(disk()), env=py_env(), cpumask="0x3", mem_mb=512,
                    args=["-z", "-C", "-q", 64, "-o", 4096, "-w", "verify", "-t", 3])
    assert runs_together(perf, executor_lock)
    thread, outcome = perform_tests_in_background(perf, 3)
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(perf.log_text())
    assert not result.failed and len([j for j in result.jobs if j.name == "PyDisk0"]) == 2, \
        perf.log_text()
    stats = perf.rpc("bdev_python_disk_get_stats", name="PyDisk0")
    assert stats["pending"] == 0 and stats["exceptions"] == 0, stats
    assert (stats["handed_batches"] > 0) == (executor_lock == "on"), stats
    layer = iostat(perf, "PyDisk0")
    assert stats["python_ios"]["read"] == layer["num_read_ops"], (stats, layer)
    assert stats["python_ios"]["write"] == layer["num_write_ops"], (stats, layer)


@pytest.mark.parametrize("mode", ["python", "hybrid"])
def test_passthru_stacked_on_a_disk(spdk_install, py_env, mode):
    cfg = config(disk(), {"method": "bdev_python_passthru_create",
                          "params": {"base_bdev_name": "PyDisk0", "name": "PT0", "mode": mode}})
    rc, out, result = bdevperf(spdk_install, py_env, cfg, extra=["-x"] if
                               not spdk_install.at_least(20, 10) else [])
    assert rc == 0 and not result.failed and "mismatch" not in out, out
    assert any(j.name == "PT0" for j in result.jobs), out


@pytest.mark.parametrize("engine", ENGINES)
def test_spdk_dd_round_trip_through_a_file_disk(spdk_install, py_env, tmp_path, engine):
    image = tmp_path / "disk.img"
    cfg = config(disk("FileDisk0", FILE, 16384, params={"path": str(image), **ENGINES[engine]}))
    pattern = dd_round_trip(spdk_install, py_env, cfg, "FileDisk0", tmp_path, 4 << 20, 65536)
    assert image.read_bytes()[:4 << 20] == pattern


def dd_round_trip(spdk_install, py_env, cfg, bdev, tmp_path, size, write_bs, timeout=120):
    """A random pattern written to bdev by one spdk_dd, read back by another
    (each with cfg, so each creates the disk anew): checked byte for byte;
    returns the pattern."""
    pattern = tmp_path / "pattern.bin"
    pattern.write_bytes(os.urandom(size))
    rc, out = run_app(spdk_install, "spdk_dd", cfg,
                      ["--if", pattern, "--ob", bdev, "--bs", write_bs, "--qd", 8],
                      env=py_env(), timeout=timeout)
    assert rc == 0, out
    back = tmp_path / "back.bin"
    rc, out = run_app(spdk_install, "spdk_dd", cfg,
                      ["--ib", bdev, "--of", back, "--bs", 65536, "--count", size // 65536],
                      env=py_env(), timeout=timeout)
    assert rc == 0, out
    assert back.read_bytes() == pattern.read_bytes()
    return pattern.read_bytes()


def test_served_over_nvme_tcp_and_read_back_by_another_spdk(spdk_app, spdk_install, py_env,
                                                           tmp_path):
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)
    target.rpc("bdev_python_disk_create", name="PyDisk0", plugin=RAM, num_blocks=16384)
    port = nvmf.free_port()
    nqn = nvmf.export(target, "PyDisk0", port)
    host_cfg = nvmf.initiator_config(port, nqn)
    pattern = tmp_path / "pattern.bin"
    pattern.write_bytes(os.urandom(2 << 20))
    rc, out = run_app(spdk_install, "spdk_dd", host_cfg,
                      ["--if", pattern, "--ob", "Remoten1", "--bs", 65536], cpumask="0x2",
                      mem_mb=512, timeout=120)
    assert rc == 0, out
    back = tmp_path / "back.bin"
    rc, out = run_app(spdk_install, "spdk_dd", host_cfg,
                      ["--ib", "Remoten1", "--of", back, "--bs", 65536, "--count", 32],
                      cpumask="0x2", mem_mb=512, timeout=120)
    assert rc == 0, out
    assert back.read_bytes() == pattern.read_bytes()
    assert iostat(target, "PyDisk0")["num_write_ops"] > 0


def test_rpcs_and_bad_input(py_tgt):
    assert py_tgt.rpc("bdev_python_disk_create", name="PyDisk0", plugin=RAM,
                      num_blocks=4096) == "PyDisk0"
    bdev = py_tgt.rpc("bdev_get_bdevs", name="PyDisk0")[0]
    assert bdev["num_blocks"] == 4096 and bdev["block_size"] == 512
    assert bdev["product_name"] == "Python RAM disk"
    info = bdev["driver_specific"]["python_disk"]
    assert info["plugin"] == RAM and "read" in info["io_types"]
    types = bdev["supported_io_types"]
    assert types["read"] and types["write"] and types["unmap"] and not types["nvme_io"]
    cases = [
        (dict(name="PyDisk0", plugin=RAM, num_blocks=8), -EEXIST, "exists already"),
        (dict(name="D1", plugin="nosuchmodule:Disk", num_blocks=8), INVALID_PARAMS,
         "cannot import nosuchmodule"),
        (dict(name="D1", plugin="examples.ramdisk", num_blocks=8), INVALID_PARAMS,
         "module:Class"),
        (dict(name="D1", plugin="examples.ramdisk:Nope", num_blocks=8), INVALID_PARAMS,
         "no Disk subclass Nope"),
        (dict(name="D1", plugin=RAM, num_blocks=8, params={"size": 1}), INVALID_PARAMS,
         "bad params"),
        (dict(name="D1", plugin=RAM, num_blocks=0), INVALID_PARAMS, "num_blocks"),
        (dict(name="D1", plugin=RAM, num_blocks=8, block_size=1000), INVALID_PARAMS,
         "block_size"),
        (dict(name="D1", plugin=RAM, num_blocks=8, uuid="nope"), INVALID_PARAMS, "not a UUID"),
        (dict(name="", plugin=RAM, num_blocks=8), INVALID_PARAMS, "must not be empty"),
        (dict(name="D1", plugin=FILE, num_blocks=8, params={}), INVALID_PARAMS, "path"),
        (dict(name="D1", plugin=FILE, num_blocks=8, params={"path": "/tmp/d1.img",
                                                            "engine": "io_uring"}),
         INVALID_PARAMS, "engine is aio or threads"),
        (dict(name="D1", plugin=FILE, num_blocks=8, params={"path": "/tmp/d1.img",
                                                            "engine": "aio"}),
         INVALID_PARAMS, "engine aio needs direct"),
    ]
    for params, code, text in cases:
        with pytest.raises(RpcError) as err:
            py_tgt.rpc_raw("bdev_python_disk_create", params)
        assert err.value.code == code and text in err.value.message, (params, err.value)
    with pytest.raises(RpcError) as err:
        py_tgt.rpc("bdev_python_disk_delete", name="Nope0")
    assert err.value.code == -ENODEV
    assert py_tgt.rpc("bdev_python_disk_delete", name="PyDisk0") is True
    assert py_tgt.rpc("bdev_get_bdevs") == []
    assert_released(py_tgt)


def assert_released(target):
    """Every disk released (a message hop after its delete is answered)."""
    deadline = time.monotonic() + 5
    while target.rpc("spdk_py_get_objects")["disks"] and time.monotonic() < deadline:
        time.sleep(0.05)
    objects = target.rpc("spdk_py_get_objects")
    assert objects["disks"] == 0 and objects["waiters"] == 0, objects


def test_save_config_restores_with_the_same_uuid(spdk_install, spdk_app, py_env, tmp_path):
    first = spdk_app("spdk_tgt", env=py_env())
    first.rpc("bdev_python_disk_create", name="PyDisk0", plugin=RAM, num_blocks=4096)
    first.rpc("bdev_python_disk_create", name="PyDisk1", plugin=FILE, num_blocks=4096,
              params={"path": str(tmp_path / "d1.img")},
              uuid="8a3c1c6e-2b1a-4d4e-9f43-0123456789ab")
    uuids = {b["name"]: b["uuid"] for b in first.rpc("bdev_get_bdevs")}
    answer = rpc_py(spdk_install, first.rpc_socket, "save_config")
    assert answer.returncode == 0, answer.stderr
    saved = json.loads(answer.stdout)
    assert first.stop() == 0
    entries = [e for s in saved["subsystems"] if s["subsystem"] == "bdev"
               for e in s["config"] if e["method"] == "bdev_python_disk_create"]
    assert sorted(e["params"]["name"] for e in entries) == ["PyDisk0", "PyDisk1"]
    (tmp_path / "saved.json").write_text(json.dumps(saved))
    second = spdk_app("spdk_tgt", env=py_env(), config=tmp_path / "saved.json")
    assert {b["name"]: b["uuid"] for b in second.rpc("bdev_get_bdevs")} == uuids
    assert uuids["PyDisk1"] == "8a3c1c6e-2b1a-4d4e-9f43-0123456789ab"


def served(spdk_app, py_env, name, params, workload, seconds, qd=8, plugin=SLOW,
           num_blocks=8192):
    """(target, host, perform_tests thread, its outcome): spdk_tgt serving a
    disk (a SlowDisk unless told) over NVMe/TCP to a bdevperf host (-z -f)
    running workload."""
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)
    target.rpc("bdev_python_disk_create", name=name, plugin=plugin, num_blocks=num_blocks,
               params=params)
    port = nvmf.free_port()
    nqn = nvmf.export(target, name, port)
    mix = ["-M", 50] if workload == "randrw" else []
    host = spdk_app("bdevperf", config=nvmf.initiator_config(port, nqn), cpumask="0x2",
                    mem_mb=512, args=["-z", "-f", "-q", qd, "-o", 4096, "-w", workload,
                                      "-t", seconds, *mix])
    thread, outcome = perform_tests_in_background(host, seconds)
    return target, host, thread, outcome


def host_failed(host, outcome):
    """Whether the host saw I/O fail: bdevperf's table (20.07), or its
    perform_tests answer (an error when a job failed, in modern SPDK)."""
    return "error" in outcome or parse_bdevperf(host.log_text()).failed


def hooks_ran_on(target, name, plugin):
    """Whether every hook of the disk ran where plugin runs them."""
    info = target.rpc("bdev_get_bdevs", name=name)[0]["driver_specific"]["python_disk"]
    assert info["off_reactor"] == (plugin == SLOW_OFF), info
    return info["hook_threads"] and all(t.startswith(HOOK_THREADS[plugin])
                                        for t in info["hook_threads"])


@pytest.mark.parametrize("plugin", [SLOW, SLOW_OFF])
def test_an_exception_in_a_hook_fails_that_io_and_the_target_lives(spdk_app, py_env, plugin):
    # Every write raises: modern SPDK's NVMe host retries a failed I/O, so
    # one that fails now and then would pass on its retry.
    target, host, thread, outcome = served(spdk_app, py_env, "Faulty0", {"raise_every": 1},
                                           "write", 1, plugin=plugin)
    thread.join(timeout=90)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    assert "injected write fault" in target.log_text()
    stats = target.rpc("bdev_python_disk_get_stats", name="Faulty0")
    assert stats["exceptions"] > 0 and stats["pending"] == 0, stats
    assert hooks_ran_on(target, "Faulty0", plugin)
    assert target.rpc("bdev_python_disk_delete", name="Faulty0") is True


@pytest.mark.parametrize("plugin", [SLOW, SLOW_OFF])
def test_late_completions_arrive_on_their_thread_once(spdk_app, py_env, plugin):
    # Reads complete 20 ms late, from timer threads: a verify through
    # NVMe/TCP stays clean, and none is dropped.
    target, host, thread, outcome = served(spdk_app, py_env, "Late0", {"delay_ms": 20},
                                           "verify", 2, plugin=plugin)
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    assert not parse_bdevperf(host.log_text()).failed, host.log_text()
    assert host.stop() == 0
    info = target.rpc("bdev_get_bdevs", name="Late0")[0]["driver_specific"]["python_disk"]
    assert info["late"]["done"] > 0 and info["late"]["dropped"] == 0, info
    assert target.rpc("bdev_python_disk_get_stats", name="Late0")["pending"] == 0
    assert hooks_ran_on(target, "Late0", plugin)


@pytest.mark.parametrize("plugin", [SLOW, SLOW_OFF])
def test_a_timeout_fails_a_stuck_io_once_and_drops_the_late_completion(spdk_app, py_env,
                                                                          plugin):
    # Reads complete after 400 ms, the timeout is 100 ms: each read fails at
    # its timeout, its completion then arrives and is dropped, not done twice.
    target, host, thread, outcome = served(spdk_app, py_env, "Slow0",
                                           {"delay_ms": 400, "timeout_ms": 100},
                                           "randread", 1, qd=4, plugin=plugin)
    thread.join(timeout=90)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    time.sleep(1)  # the last late completions arrive
    stats = target.rpc("bdev_python_disk_get_stats", name="Slow0")
    info = target.rpc("bdev_get_bdevs", name="Slow0")[0]["driver_specific"]["python_disk"]
    assert stats["timed_out"] > 0 and stats["pending"] == 0, stats
    # Every read timed out, and each one's late completion was dropped.
    assert info["late"]["done"] == 0 and info["late"]["dropped"] == stats["timed_out"], \
        (info, stats)
    assert "this completion is dropped" in target.log_text()
    assert hooks_ran_on(target, "Slow0", plugin)


@pytest.mark.parametrize("plugin", [SLOW, SLOW_OFF])
def test_delete_with_ios_pending_fails_them_and_nothing_hangs(spdk_app, py_env, plugin):
    target, host, thread, outcome = served(spdk_app, py_env, "Stuck0",
                                           {"stuck": True, "timeout_ms": 0},
                                           "randread", 3, qd=8, plugin=plugin)
    deadline = time.monotonic() + 30
    while target.rpc("bdev_python_disk_get_stats", name="Stuck0")["pending"] < 8:
        assert time.monotonic() < deadline, "the host's reads never reached the disk"
        time.sleep(0.1)
    assert hooks_ran_on(target, "Stuck0", plugin)
    assert target.rpc("bdev_python_disk_delete", name="Stuck0") is True
    thread.join(timeout=90)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    assert "Python had not completed: the disk is being deleted" in target.log_text()
    assert_released(target)


def test_a_reactor_polls_on_while_an_off_reactor_disk_holds_python(spdk_install, py_env):
    # Each write hook holds the GIL 20 ms. On the reactor, that stops a
    # malloc bdev polled beside it (one reactor: on two, the other polls on
    # while one is in Python); off the reactor, malloc runs on.
    def malloc_iops(plugin):
        cfg = config({"method": "bdev_malloc_create",
                      "params": {"name": "Malloc0", "num_blocks": 16384, "block_size": 512}},
                     disk(plugin=plugin, num_blocks=16384, params={"spin_ms": 20}))
        rc, out, result = bdevperf(spdk_install, py_env, cfg, "write", qd=8)
        assert rc == 0 and not result.failed, out
        return sum(j.iops for j in result.jobs if j.name == "Malloc0")
    on, off = malloc_iops(SLOW), malloc_iops(SLOW_OFF)
    assert off > 20 * on, (on, off)


def test_a_disk_that_routes_cannot_run_off_the_reactor(py_tgt):
    with pytest.raises(RpcError) as err:
        py_tgt.rpc("bdev_python_disk_create", name="Routes0", num_blocks=8192,
                   plugin="tests.plugins.slow_disk:OffReactorRoutingDisk")
    assert err.value.code == INVALID_PARAMS and "off the reactor" in err.value.message
    assert all(b["name"] != "Routes0" for b in py_tgt.rpc("bdev_get_bdevs"))


def file_threads(pid):
    """The target's threads that are a FileIo pool's (spdk_py.file_io)."""
    names = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, task)) as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return names.count("spdk_py_file")


def opens(pid, path):
    return any(os.path.realpath("/proc/%d/fd/%s" % (pid, fd)) == str(path)
               for fd in os.listdir("/proc/%d/fd" % pid))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_disk_deleted_under_load_ends_its_threads_and_closes_its_file(
        spdk_app, py_env, tmp_path, engine):
    image = tmp_path / "disk.img"
    threads = 8 if engine == "threads" else 0  # Linux AIO: none, the reactor submits
    target, host, thread, outcome = served(spdk_app, py_env, "FileDisk0",
                                           {"path": str(image), "threads": 8,
                                            **ENGINES[engine]}, "randrw", 3,
                                           qd=32, plugin=FILE)
    deadline = time.monotonic() + 30
    while not iostat(target, "FileDisk0")["num_read_ops"]:
        assert time.monotonic() < deadline, "the host's I/O never reached the disk"
        time.sleep(0.1)
    assert file_threads(target.pid) == threads and opens(target.pid, image)
    assert target.rpc("bdev_python_disk_delete", name="FileDisk0") is True
    thread.join(timeout=90)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    host.stop()
    # The calls queued were made, then the last thread closed the file.
    deadline = time.monotonic() + 10
    while (file_threads(target.pid) or opens(target.pid, image)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert file_threads(target.pid) == 0 and not opens(target.pid, image)
    assert_released(target)
    assert target.rpc("bdev_get_bdevs") == []  # and the target answers


def test_resize_reaches_the_passthru_stacked_on_it(py_tgt):
    py_tgt.rpc("bdev_python_disk_create", name="PyDisk0", plugin=RAM, num_blocks=4096)
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="PyDisk0", name="PT0")
    assert py_tgt.rpc("bdev_python_disk_resize", name="PyDisk0", num_blocks=8192) is True

    def sizes():
        return {b["name"]: b["num_blocks"] for b in py_tgt.rpc("bdev_get_bdevs")}
    deadline = time.monotonic() + 5
    while sizes() != {"PyDisk0": 8192, "PT0": 8192}:
        assert time.monotonic() < deadline, sizes()
        time.sleep(0.05)
    # The new blocks are there: save_config has the new size.
    saved = py_tgt.rpc("framework_get_config", name="bdev")
    entry = next(e for e in saved if e["method"] == "bdev_python_disk_create")
    assert entry["params"]["num_blocks"] == 8192
    with pytest.raises(RpcError) as err:
        py_tgt.rpc("bdev_python_disk_resize", name="PyDisk0", num_blocks=0)
    assert err.value.code == INVALID_PARAMS


DISK_V1 = (shim.ROOT / "spdk_py" / "examples" / "ramdisk.py").read_text()
DISK_V2 = DISK_V1 + '''

class RamDisk(RamDisk):  # noqa: F811 (the new code: the class the disk uses, by name)
    def info(self):
        return {"generation": 2}
'''


def test_hot_reload_of_a_disk_plugin_under_load_keeps_its_data(spdk_app, py_env, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (tmp_path / "ramlive.py").write_text(DISK_V1)
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)
    target.rpc("bdev_python_disk_create", name="Live0", plugin="ramlive:RamDisk",
               num_blocks=8192)
    port = nvmf.free_port()
    nqn = nvmf.export(target, "Live0", port)
    host = spdk_app("bdevperf", config=nvmf.initiator_config(port, nqn), cpumask="0x2",
                    mem_mb=512, args=["-z", "-q", 8, "-o", 4096, "-w", "verify", "-t", 4])
    thread, outcome = perform_tests_in_background(host, 4)
    time.sleep(1.5)
    (tmp_path / "ramlive.py").write_text(DISK_V2)
    answer = target.rpc("spdk_py_reload_plugin", name="ramlive")
    assert answer["disks"] == ["Live0"], answer
    thread.join(timeout=90)
    assert not thread.is_alive() and "result" in outcome, outcome
    # The verify that spans the reload is clean: the disk kept its state.
    assert not parse_bdevperf(host.log_text()).failed, host.log_text()
    info = target.rpc("bdev_get_bdevs", name="Live0")[0]["driver_specific"]["python_disk"]
    assert info["generation"] == 2, info
    assert host.stop() == 0  # before the target: a host left behind reconnects, and fails
