"""Real I/O through the Python passthru: bdevperf workloads and an spdk_dd data round trip."""

import os
import re
import zlib

import pytest

from spdk_py.tools.process import parse_bdevperf, run_app


def stacked_config(base_method, base_params, vbdev="PT0", base="Base0"):
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": base_method, "params": dict(base_params, name=base)},
        {"method": "bdev_python_passthru_create",
         "params": {"base_bdev_name": base, "name": vbdev}},
    ]}]}


MALLOC = ("bdev_malloc_create", {"num_blocks": 65536, "block_size": 512})


def run_bdevperf(spdk_install, py_env, workload, cpumask="0x1", seconds=2, extra=(),
                 mode="python", zcopy=None):
    config = stacked_config(*MALLOC)
    config["subsystems"][0]["config"][1]["params"]["mode"] = mode
    rc, out = run_app(spdk_install, "bdevperf", config,
                      ["-q", 32, "-o", 4096, "-w", workload, "-t", seconds, *extra],
                      env=py_env(), cpumask=cpumask, timeout=60, zcopy=zcopy)
    return rc, out, parse_bdevperf(out)


@pytest.mark.parametrize("cpumask,jobs", [("0x1", 1), ("0x3", 2)])
def test_bdevperf_verify(spdk_install, hugepages, py_env, cpumask, jobs):
    # -C: a job on every core, so the vbdev is driven from two reactors at once.
    rc, out, result = run_bdevperf(spdk_install, py_env, "verify", cpumask, extra=["-C"])
    assert rc == 0, out
    assert not result.failed, out
    assert len([j for j in result.jobs if j.name == "PT0"]) == jobs, out
    assert result.total.iops > 1000, out


@pytest.mark.parametrize("workload,mode", [
    ("reset", "python"), ("reset", "hybrid"), ("unmap", "python"), ("write_zeroes", "python"),
    ("flush", "python"), ("randrw", "python")])
def test_bdevperf_workloads(spdk_install, hugepages, py_env, workload, mode):
    extra = ["-M", 50] if workload == "randrw" else []
    rc, out, result = run_bdevperf(spdk_install, py_env, workload, extra=extra, mode=mode)
    assert rc == 0, out
    assert not result.failed, out
    assert result.total.iops > 1000, out


def test_bdevperf_zero_copy(spdk_install, hugepages, py_env):
    # bdevperf's zero-copy (20.07's default, -Z later): ZCOPY I/Os through the
    # vbdev, which forwards them as the base (malloc) advertises them.
    rc, out, result = run_bdevperf(spdk_install, py_env, "randread", zcopy=True)
    assert rc == 0, out
    assert not result.failed and result.total.iops > 1000, out


BLOCK = 512
SIZE = 4 * 1024 * 1024


def aio_config(backing):
    return stacked_config("bdev_aio_create", {"filename": str(backing), "block_size": BLOCK})


def spdk_dd(spdk_install, py_env, backing, *args):
    rc, out = run_app(spdk_install, "spdk_dd", aio_config(backing),
                      [*args, "--bs", 65536, "--qd", 4], env=py_env(), timeout=60)
    assert rc == 0, out
    return out


def test_spdk_dd_write_lands_on_base_byte_for_byte(spdk_install, hugepages, py_env, tmp_path):
    backing = tmp_path / "backing.img"
    backing.write_bytes(b"\0" * SIZE)
    pattern = tmp_path / "pattern.bin"
    pattern.write_bytes(os.urandom(SIZE))

    spdk_dd(spdk_install, py_env, backing, "--if", pattern, "--ob", "PT0")
    assert backing.read_bytes() == pattern.read_bytes()


def test_spdk_dd_read_returns_base_bytes(spdk_install, hugepages, py_env, tmp_path):
    backing = tmp_path / "backing.img"
    backing.write_bytes(os.urandom(SIZE))
    out = tmp_path / "out.bin"

    spdk_dd(spdk_install, py_env, backing, "--ib", "PT0", "--of", out)
    assert out.read_bytes() == backing.read_bytes()



def test_python_reads_write_data_zero_copy(spdk_install, hugepages, py_env, tmp_path):
    # io.buffers() gives Python SPDK's own buffers: the checksums it computes on
    # the fly are those of the file spdk_dd writes, chunk by chunk.
    backing = tmp_path / "backing.img"
    backing.write_bytes(b"\0" * SIZE)
    pattern = tmp_path / "pattern.bin"
    pattern.write_bytes(os.urandom(SIZE))
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_aio_create", "params": {"name": "Base0", "filename": str(backing),
                                                 "block_size": BLOCK}},
        {"method": "bdev_inspect_create", "params": {"base_bdev_name": "Base0", "name": "PT0"}},
    ]}]}
    chunk = 65536
    rc, out = run_app(spdk_install, "spdk_dd", config,
                      ["--if", pattern, "--ob", "PT0", "--bs", chunk, "--qd", 4],
                      env=py_env("spdk_py.passthru,tests.plugins.inspect"), timeout=60)
    assert rc == 0, out
    seen = {int(o): c for o, c in re.findall(r"offset_blocks=(\d+) crc32=([0-9a-f]{8})", out)}
    data = pattern.read_bytes()
    expected = {i // BLOCK: "%08x" % zlib.crc32(data[i:i + chunk])
                for i in range(0, SIZE, chunk)}
    assert seen == expected
    assert backing.read_bytes() == data
