"""examples/s3disk.py against an S3 server on loopback (moto's server mode),
in real SPDK processes: verify over NVMe/TCP, data found again by a new
target, the server killed under load, a delete under load."""

import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest

from spdk_py.tools.process import parse_bdevperf
from tests.integration.test_disk import (assert_released, config, dd_round_trip, disk,
                                         host_failed, served)

S3 = "examples.s3disk:S3Disk"
BUCKET = "disks"


@pytest.fixture
def s3_server(tmp_path):
    """A moto S3 server on 127.0.0.1 with the bucket made: (endpoint, Popen)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "moto.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "moto.log").read_text()
            time.sleep(0.1)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing") \
        .create_bucket(Bucket=BUCKET)
    yield endpoint, server
    server.kill()
    server.wait()
    log.close()


def s3_params(endpoint, **extra):
    return {"endpoint": endpoint, "bucket": BUCKET, "extent_size": 16384, **extra}


def serve(spdk_app, py_env, endpoint, workload, seconds):
    return served(spdk_app, py_env, "S3Disk0", s3_params(endpoint), workload, seconds, qd=4,
                  plugin=S3, num_blocks=4096)


def test_verify_over_nvme_tcp(spdk_app, py_env, s3_server):
    target, host, thread, outcome = serve(spdk_app, py_env, s3_server[0], "verify", 2)
    thread.join(timeout=120)
    assert not thread.is_alive() and "result" in outcome, outcome
    result = parse_bdevperf(host.log_text())
    assert not result.failed and result.total.iops > 0, host.log_text()
    assert host.stop() == 0
    assert target.rpc("bdev_python_disk_get_stats", name="S3Disk0")["pending"] == 0


def test_a_new_target_finds_the_data(spdk_install, py_env, s3_server, tmp_path):
    cfg = config(disk("S3Disk0", S3, 4096, params=s3_params(s3_server[0])))
    dd_round_trip(spdk_install, py_env, cfg, "S3Disk0", tmp_path, 1 << 20, 4096, timeout=180)


def test_the_server_killed_under_load(spdk_app, py_env, s3_server):
    target, host, thread, outcome = serve(spdk_app, py_env, s3_server[0], "randrw", 8)
    time.sleep(2)
    s3_server[1].send_signal(signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    stats = target.rpc("bdev_python_disk_get_stats", name="S3Disk0")
    assert stats["pending"] == 0, stats
    assert target.rpc("bdev_python_disk_delete", name="S3Disk0") is True
    assert_released(target)


def test_delete_under_load(spdk_app, py_env, s3_server):
    target, host, thread, outcome = serve(spdk_app, py_env, s3_server[0], "randrw", 6)
    time.sleep(2)
    assert target.rpc("bdev_python_disk_delete", name="S3Disk0") is True
    thread.join(timeout=120)
    assert not thread.is_alive(), "the host hung: an I/O was never completed"
    assert host_failed(host, outcome), (outcome, host.log_text())
    host.stop()  # before the target: a host left behind reconnects meanwhile
    assert_released(target)
