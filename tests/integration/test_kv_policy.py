"""spdk_py.examples.kv_policy in real SPDK processes: a vbdev whose access
(rw, ro) a key-value service (tests/kv_server.py, in this process) sets
live, through an asyncio task on the app thread; the I/O is the own-I/O
RPCs' (data checked) and bdevperf's."""

import errno
import os
import threading
import time

import pytest
from spdk.rpc.client import JSONRPCClient

from spdk_py.tools import launch
from spdk_py.tools.process import RpcError, SpdkProcess
from tests.integration.test_hybrid import iostat, perform_tests_in_background
from tests.kv_server import KvServer

PLUGINS = "spdk_py.passthru,examples.kv_policy,tests.plugins.own_io"
KEY = "Kv0/access"
INVALID_PARAMS = -32602
# What must never be in the log: an asyncio callback or task that raised, a
# task left pending, a close() that raised, an SPDK thread kept from exiting.
NEVER = ("asyncio:", "Task was destroyed", "close raised", "got timeout", "still registered")


@pytest.fixture
def kv():
    server = KvServer().start()
    yield server
    server.stop()


def malloc(name="Malloc0", blocks=8192):
    return {"method": "bdev_malloc_create",
            "params": {"name": name, "num_blocks": blocks, "block_size": 512}}


def kv_policy(kv, name="Kv0", base="Malloc0", **extra):
    return {"method": "bdev_kv_policy_create",
            "params": dict(base_bdev_name=base, name=name, kv_host="127.0.0.1",
                           kv_port=kv.port, **extra)}


def config(*entries):
    return {"subsystems": [{"subsystem": "bdev", "config": list(entries)}]}


def create(target, entry):
    return target.rpc("bdev_kv_policy_create", **entry["params"])


def state(target, name="Kv0"):
    return target.rpc("bdev_kv_policy_get", name=name)


def wait_for(target, check, name="Kv0", timeout=10):
    """The vbdev's state once check(state) holds (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        now = state(target, name)
        if check(now):
            return now
        assert time.monotonic() < deadline, now
        time.sleep(0.05)


def write(target, lba, data, bdev="Kv0"):
    """True, or False if the write failed."""
    try:
        return target.rpc("test_own_io_write", bdev=bdev, offset_blocks=lba, data=data.hex())
    except RpcError:
        return False


def read(target, lba, blocks, bdev="Kv0"):
    return bytes.fromhex(target.rpc("test_own_io_read", bdev=bdev, offset_blocks=lba,
                                    num_blocks=blocks))


def assert_clean(log):
    found = [what for what in NEVER if what in log]
    assert not found, (found, log)


def test_writes_follow_the_service_live_and_through_its_outage(spdk_app, py_env, kv):
    kv.set(KEY, "rw")
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(malloc()))
    assert create(target, kv_policy(kv)) == "Kv0"
    wait_for(target, lambda s: s["connected"] and s["heard"] and s["access"] == "rw")
    pattern = os.urandom(4 * 512)
    assert write(target, 0, pattern) is True
    assert read(target, 0, 4) == pattern

    # Read-only: writes fail, reads go on; the data is as it was.
    kv.set(KEY, "ro")
    wait_for(target, lambda s: s["access"] == "ro")
    assert write(target, 0, os.urandom(512)) is False
    assert write(target, 100, os.urandom(2 * 512)) is False
    assert read(target, 0, 4) == pattern
    assert state(target)["refused"] == 2

    kv.set(KEY, "rw")
    wait_for(target, lambda s: s["access"] == "rw")
    again = os.urandom(512)
    assert write(target, 1, again) is True
    assert read(target, 0, 4) == pattern[:512] + again + pattern[1024:]

    # The service goes away: the vbdev keeps what it heard last (rw), logs
    # it once however many times it retries, and takes the value the service
    # has when it is back (ro, set meanwhile).
    kv.stop()
    wait_for(target, lambda s: not s["connected"])
    kv.set(KEY, "ro")
    time.sleep(1)  # retries: after 0.1, 0.2, 0.4 s...
    assert state(target)["access"] == "rw"
    assert write(target, 2, again) is True
    assert target.log_text().count("Kv0: lost the policy service") == 1
    kv.start()
    after = wait_for(target, lambda s: s["connected"] and s["access"] == "ro")
    assert after["reconnects"] == 1, after
    assert target.log_text().count("Kv0: the policy service at 127.0.0.1:%d is back"
                                   % kv.port) == 1
    assert write(target, 2, pattern[:512]) is False
    assert read(target, 2, 1) == again

    # The app stops with the watch connected: its task ends, its socket closes.
    assert target.stop(timeout=30) == 0
    log = target.log_text()
    assert "Kv0: no longer watching Kv0/access" in log, log
    assert_clean(log)


def test_a_write_waits_for_the_first_answer_then_the_default_applies(spdk_app, py_env, kv):
    # The service is down when the vbdevs are made: Kv0's first write waits
    # for the first answer (up to 5 s); Kv1's wait (200 ms) is over first,
    # and its default (ro) refuses its write. Kv2's key is not in the
    # service: its default (rw) applies.
    kv.stop()
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(
        malloc(), malloc("Malloc1"), malloc("Malloc2"), kv_policy(kv, wait_ms=5000),
        kv_policy(kv, "Kv1", "Malloc1", wait_ms=200),
        kv_policy(kv, "Kv2", "Malloc2", wait_ms=200, default_access="rw")))
    written = []
    data = os.urandom(512)

    def held_write():  # on a connection of its own (the target's client is one)
        client = JSONRPCClient(str(target.rpc_socket), timeout=30)
        try:
            written.append(client.call("test_own_io_write", {
                "bdev": "Kv0", "offset_blocks": 7, "data": data.hex()}))
        finally:
            client.close()
    writer = threading.Thread(target=held_write)
    started = time.monotonic()
    writer.start()
    assert write(target, 0, data, bdev="Kv1") is False
    time.sleep(0.5)
    assert writer.is_alive() and not written, "the write did not wait for the first answer"
    kv.set(KEY, "rw")
    kv.start()
    writer.join(timeout=10)
    assert written == [True] and time.monotonic() - started < 5
    assert read(target, 7, 1) == data
    assert state(target)["heard"] and state(target)["reconnects"] == 1
    assert target.log_text().count("Kv0: cannot reach the policy service") == 1

    kv2 = wait_for(target, lambda s: s["connected"], name="Kv2")
    assert kv2["access"] == "rw" and kv2["heard"], kv2
    assert write(target, 0, data, bdev="Kv2") is True
    assert state(target, "Kv1")["access"] == "ro"

    # Made over a base not there yet: the vbdev (a new object) comes with it.
    assert create(target, kv_policy(kv, "Kv3", "Malloc3")) == "Kv3"
    target.rpc("bdev_malloc_create", name="Malloc3", num_blocks=1024, block_size=512)
    wait_for(target, lambda s: s["connected"], name="Kv3")

    # The app stops with every watch in its backoff's sleep.
    kv.stop()
    wait_for(target, lambda s: not s["connected"])
    assert target.stop(timeout=30) == 0
    log = target.log_text()
    assert all(log.count("Kv%d: no longer watching" % n) == 1 for n in range(4)), log
    assert_clean(log)


def test_bdevperf_sees_writes_refused_while_ro_and_a_delete_under_load(spdk_app, py_env, kv):
    # Two reactors, a job on each (-C): the hooks run on both, the task on
    # the app thread's. The service is down at first: writes wait for it.
    kv.stop()
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), cpumask="0x3",
                    config=config(malloc(), kv_policy(kv, wait_ms=10000)),
                    args=["-z", "-f", "-C", "-q", 16, "-o", 4096, "-w", "randrw", "-M", 50,
                          "-t", 30], zcopy=False)
    thread, outcome = perform_tests_in_background(perf, 30)

    def counts():
        stats = perf.rpc("bdev_python_passthru_get_stats", name="Kv0")["io_types"]
        io = iostat(perf, "Kv0")
        return (io["num_read_ops"], io["num_write_ops"], stats.get("read", {}).get("errors", 0),
                stats.get("write", {}).get("errors", 0))

    time.sleep(0.5)
    reads, writes, read_errors, write_errors = counts()
    assert reads > 0 and writes == 0 and read_errors == write_errors == 0
    kv.set(KEY, "rw")
    kv.start()
    wait_for(perf, lambda s: s["access"] == "rw")
    time.sleep(0.3)
    reads, writes, read_errors, write_errors = counts()
    assert writes > 100 and read_errors == write_errors == 0

    kv.set(KEY, "ro")
    wait_for(perf, lambda s: s["access"] == "ro")
    time.sleep(0.2)  # (writes submitted before the change are done)
    reads, writes, _, write_errors = counts()
    time.sleep(0.5)
    reads_ro, writes_ro, read_errors, write_errors_ro = counts()
    assert reads_ro > reads and writes_ro == writes and read_errors == 0
    assert write_errors_ro > write_errors + 100

    kv.set(KEY, "rw")
    wait_for(perf, lambda s: s["access"] == "rw")
    time.sleep(0.2)  # (writes refused before the change are done)
    reads, writes, _, write_errors = counts()
    time.sleep(0.5)
    reads_rw, writes_rw, read_errors, write_errors_rw = counts()
    assert writes_rw > writes + 100 and reads_rw > reads and read_errors == 0
    assert write_errors_rw == write_errors, "writes were refused after rw"

    # Deleted under load: the delete answers once the bdev is gone, its task ended.
    assert perf.rpc("bdev_kv_policy_delete", name="Kv0") is True
    thread.join(timeout=60)
    assert not thread.is_alive(), "bdevperf hung: an I/O was never completed"
    log = perf.log_text()
    assert "Kv0: no longer watching Kv0/access" in log, log
    assert_clean(log)
    with pytest.raises(RpcError) as err:
        state(perf)
    assert err.value.code == -errno.ENODEV
    # Its base is free again.
    assert perf.rpc("bdev_get_bdevs", name="Malloc0")[0]["claimed"] is False


@pytest.fixture(scope="module")
def kv_target(spdk_install, hugepages, shim_path, tmp_path_factory):
    """One target for every bad RPC: Kv0 over Malloc0, PT0 (a plain passthru) over Malloc2."""
    server = KvServer().start()
    server.set(KEY, "rw")
    env = launch.app_env(spdk_install, shim_path, PLUGINS, base={})
    target = SpdkProcess(spdk_install, "spdk_tgt", log_dir=tmp_path_factory.mktemp("kv"),
                         env=env, config=config(
                             malloc(), malloc("Malloc1"), malloc("Malloc2"), kv_policy(server),
                             {"method": "bdev_python_passthru_create",
                              "params": {"base_bdev_name": "Malloc2", "name": "PT0"}}))
    target.start()
    wait_for(target, lambda s: s["connected"])
    yield target, server
    assert target.stop(timeout=30) == 0
    log = target.log_text()
    assert_clean(log)
    # Kv9s made and refused were closed before their tasks ran: none connected.
    assert "Kv0: no longer watching" in log and "Kv9:" not in log, log
    server.stop()


@pytest.mark.parametrize("method,params,code,words", [
    ("bdev_kv_policy_create", {"kv_port": None}, INVALID_PARAMS, "kv_port"),
    ("bdev_kv_policy_create", {"kv_port": "7070"}, INVALID_PARAMS, "kv_port"),
    ("bdev_kv_policy_create", {"kv_port": 0}, INVALID_PARAMS, "between 1 and 65535"),
    ("bdev_kv_policy_create", {"kv_host": ""}, INVALID_PARAMS, "kv_host"),
    ("bdev_kv_policy_create", {"key": "a b"}, INVALID_PARAMS, "one word"),
    ("bdev_kv_policy_create", {"default_access": "rx"}, INVALID_PARAMS, "rw or ro"),
    ("bdev_kv_policy_create", {"wait_ms": -1}, INVALID_PARAMS, "wait_ms"),
    ("bdev_kv_policy_create", {"mode": "hybrid"}, INVALID_PARAMS, "mode"),
    ("bdev_kv_policy_create", {"name": ""}, INVALID_PARAMS, "name"),
    ("bdev_kv_policy_create", {"name": "Kv0"}, -errno.EEXIST, ""),
    # (made, then not registered: closed at once, its task never ran)
    ("bdev_kv_policy_create", {"base_bdev_name": "Malloc0"}, -errno.EPERM, "claimed"),
    ("bdev_kv_policy_get", {"name": "Nope"}, -errno.ENODEV, "Nope"),
    ("bdev_kv_policy_delete", {"name": "Nope"}, -errno.ENODEV, "Nope"),
    ("bdev_kv_policy_delete", {"name": "PT0"}, -errno.ENODEV, "PT0"),
    ("bdev_python_passthru_set_mode", {"name": "Kv0", "mode": "hybrid"}, INVALID_PARAMS,
     "python mode only"),
])
def test_bad_rpcs_are_errors(kv_target, method, params, code, words):
    target, kv = kv_target
    if method == "bdev_kv_policy_create":
        params = {k: v for k, v in dict(kv_policy(kv, "Kv9", "Malloc1")["params"],
                                        **params).items() if v is not None}
    with pytest.raises(RpcError) as err:
        target.rpc_raw(method, params)
    assert err.value.code == code and words in err.value.message, err.value
    assert state(target)["connected"]


def test_save_config_recreates_it(kv_target):
    target, kv = kv_target
    saved = [e["params"] for e in target.rpc("framework_get_config", name="bdev")
             if e["method"] == "bdev_kv_policy_create"]
    uuid = target.rpc("bdev_get_bdevs", name="Kv0")[0]["uuid"]
    assert saved == [dict(kv_policy(kv)["params"], key=KEY, default_access="ro", wait_ms=1000,
                          uuid=uuid)], saved
    info = target.rpc("bdev_get_bdevs", name="Kv0")[0]["driver_specific"]["kv_policy"]
    assert info["access"] == "rw" and info["connected"] and info["key"] == KEY, info
