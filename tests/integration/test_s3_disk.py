"""The S3 disks against an S3 server on loopback (moto's server mode), in
real SPDK processes, each test for both: examples/s3disk.py (boto3 in
worker threads) and examples/aio_s3disk.py (aiobotocore in async hooks).
Verify over NVMe/TCP and from two reactors, data found again by a new
target, the server killed under load, a delete under load; and the
objects one writes, the other reads."""

import os
import signal
import time

import pytest

from spdk_py.tools.process import parse_bdevperf, run_app
from tests.s3_server import moto_server
from tests.integration.test_disk import (assert_released, config, dd_round_trip, disk,
                                         host_failed, served)

S3 = "examples.s3disk:S3Disk"
AIO_S3 = "examples.aio_s3disk:AioS3Disk"
PLUGINS = pytest.mark.parametrize("plugin", [S3, AIO_S3], ids=["boto3", "aiobotocore"])
BUCKET = "disks"
TIMEOUT_S = 10  # both disks' timeout_ms


@pytest.fixture
def s3_server(tmp_path):
    """A moto S3 server on 127.0.0.1 with the bucket made: (endpoint, Popen)."""
    with moto_server(tmp_path, BUCKET) as server:
        yield server


def s3_params(endpoint, **extra):
    return {"endpoint": endpoint, "bucket": BUCKET, "extent_size": 16384, **extra}


def serve(spdk_app, py_env, plugin, endpoint, workload, seconds):
    return served(spdk_app, py_env, "S3Disk0", s3_params(endpoint), workload, seconds, qd=4,
                  plugin=plugin, num_blocks=4096)


def connections(pid, endpoint):
    """The process's open TCP sockets to the S3 server."""
    port = int(endpoint.rsplit(":", 1)[1])
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue  # closed meanwhile
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    with open("/proc/%d/net/tcp" % pid) as f:
        rows = [line.split() for line in f.readlines()[1:]]
    # Each row: local, remote ("0100007F:PORT", hex), ..., the socket's inode (10th).
    return sum(1 for row in rows if int(row[2].split(":")[1], 16) == port and row[9] in inodes)


def assert_quiet(log):
    """Nothing in an app's log from asyncio: no task that raised unseen, no
    unclosed client session, no loop that could not be woken."""
    for line in ("asyncio:", "Unclosed", "never retrieved", "destroyed but it is pending"):
        assert line not in log, log[-3000:]


@PLUGINS
def test_verify_over_nvme_tcp(spdk_app, py_env, s3_server, plugin):
    target, host, thread, outcome = serve(spdk_app, py_env, plugin, s3_server[0], "verify", 2)
    thread.join(timeout=120)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(host.log_text())
    assert not result.failed and result.total.iops > 0, host.log_text()
    assert host.stop() == 0
    assert target.rpc("bdev_python_disk_get_stats", name="S3Disk0")["pending"] == 0
    assert target.rpc("bdev_python_disk_delete", name="S3Disk0") is True
    assert_released(target)
    assert target.stop() == 0
    assert_quiet(target.log_text())


@PLUGINS
def test_verify_from_two_reactors(spdk_install, py_env, s3_server, plugin):
    # bdevperf's jobs on two reactors, 4K writes into 16K extents: each a
    # read-modify-write under its extent's lock, taken from two SPDK threads
    # (the aio disk's requests and locks are its home loop's).
    cfg = config(disk("S3Disk0", plugin, 2048, params=s3_params(s3_server[0])))
    rc, out = run_app(spdk_install, "bdevperf", cfg,
                      ["-q", 16, "-o", 4096, "-w", "verify", "-t", 3, "-C"], env=py_env(),
                      cpumask="0x3", mem_mb=512, timeout=120, zcopy=False)
    result = parse_bdevperf(out)
    assert rc == 0 and not result.failed and result.total.iops > 0, out
    assert "mismatch" not in out.lower(), out
    assert_quiet(out)


@PLUGINS
def test_a_new_target_finds_the_data(spdk_install, py_env, s3_server, tmp_path, plugin):
    cfg = config(disk("S3Disk0", plugin, 4096, params=s3_params(s3_server[0])))
    dd_round_trip(spdk_install, py_env, cfg, "S3Disk0", tmp_path, 1 << 20, 4096, timeout=180)


@pytest.mark.parametrize("writer,reader", [(S3, AIO_S3), (AIO_S3, S3)],
                         ids=["boto3_to_aiobotocore", "aiobotocore_to_boto3"])
def test_what_one_plugin_writes_the_other_reads(spdk_install, py_env, s3_server, tmp_path,
                                               writer, reader):
    params = s3_params(s3_server[0], prefix="shared")
    size = 256 << 10
    pattern = tmp_path / "pattern.bin"
    # Sparse: an extent never written reads as zeros, through either plugin.
    pattern.write_bytes(os.urandom(size // 2) + bytes(size // 2))
    rc, out = run_app(spdk_install, "spdk_dd", config(disk("S3Disk0", writer, 4096,
                                                           params=params)),
                      ["--if", pattern, "--ob", "S3Disk0", "--bs", 4096, "--count",
                       size // 2 // 4096, "--qd", 8], env=py_env(), timeout=180)
    assert rc == 0, out
    assert_quiet(out)  # the disk's client closed at the app's stop
    back = tmp_path / "back.bin"
    rc, out = run_app(spdk_install, "spdk_dd", config(disk("S3Disk0", reader, 4096,
                                                           params=params)),
                      ["--ib", "S3Disk0", "--of", back, "--bs", 65536, "--count",
                       size // 65536], env=py_env(), timeout=180)
    assert rc == 0, out
    assert_quiet(out)
    assert back.read_bytes() == pattern.read_bytes()


@PLUGINS
def test_the_server_killed_under_load(spdk_app, py_env, s3_server, plugin):
    seconds = 8
    target, host, thread, outcome = serve(spdk_app, py_env, plugin, s3_server[0], "randrw",
                                          seconds)
    time.sleep(2)
    s3_server[1].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    # The run's end waits for its last I/Os: none waited past the disk's timeout.
    assert time.monotonic() - killed < seconds + TIMEOUT_S + 10
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    stats = target.rpc("bdev_python_disk_get_stats", name="S3Disk0")
    assert stats["pending"] == 0, stats
    assert target.rpc("bdev_python_disk_delete", name="S3Disk0") is True
    assert_released(target)


@PLUGINS
def test_delete_under_load(spdk_app, py_env, s3_server, plugin):
    target, host, thread, outcome = serve(spdk_app, py_env, plugin, s3_server[0], "randrw", 6)
    # Under load: a request to the server in flight (moto may close a
    # connection after each answer).
    deadline = time.monotonic() + 30
    while not connections(target.pid, s3_server[0]):
        assert time.monotonic() < deadline, "no request reached the server"
        time.sleep(0.01)
    assert target.rpc("bdev_python_disk_delete", name="S3Disk0") is True
    thread.join(timeout=120)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    assert_released(target)
    # The disk's client went with it: no connection to the server is left open.
    deadline = time.monotonic() + 5
    while connections(target.pid, s3_server[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connections(target.pid, s3_server[0]) == 0
    assert target.stop() == 0
    assert_quiet(target.log_text())
