"""What SPDK's own suites and hosts expect of every Python disk, in real SPDK
processes: a reset that succeeds exactly when the bdev advertises it (SPDK's
bdevio checks that) and completes after the I/Os submitted before it; an
unmap the disk does not advertise, which a modern NVMe-oF target sends anyway,
succeeds and changes nothing; the file disk's unmap punches a hole."""

import os

import pytest

from tests.integration.test_disk import FILE, RAM, SLOW, config, disk

PLUGINS = "spdk_py.passthru,examples.mirror,tests.plugins.own_io"
ENGINES = {"threads": {}, "aio": {"direct": True}}


def malloc(name, blocks=8192):
    return {"method": "bdev_malloc_create", "params": {"name": name, "num_blocks": blocks,
                                                      "block_size": 512}}


def kinds(tmp_path):
    """Every kind of Python disk (and a vbdev over one), by the bdev to check."""
    return {
        "PyRam": [disk("PyRam", RAM, 8192)],
        "PyFile": [disk("PyFile", FILE, 8192, params={"path": str(tmp_path / "t.img")})],
        "PyAio": [disk("PyAio", FILE, 8192, params={"path": str(tmp_path / "a.img"),
                                                     "direct": True})],
        "PySlow": [disk("PySlow", SLOW, 8192, params={"delay_ms": 20})],
        "Mirror0": [malloc("MirA"), malloc("MirB"),
                    {"method": "bdev_pymirror_create",
                     "params": {"name": "Mirror0", "base_bdevs": ["MirA", "MirB"]}}],
        "PT0": [disk("PyUnder", RAM, 8192),
                {"method": "bdev_python_passthru_create",
                 "params": {"base_bdev_name": "PyUnder", "name": "PT0", "mode": "python"}}],
    }


def test_a_reset_succeeds_exactly_when_advertised_as_bdevio_checks(spdk_app, py_env, tmp_path):
    every = kinds(tmp_path)
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), mem_mb=512,
                      config=config(*[e for entries in every.values() for e in entries]))
    for bdev in every:
        out = target.rpc("test_own_io_reset", bdev=bdev)
        # bdevio (v26.05): g_completion_success == spdk_bdev_io_type_supported(RESET)
        assert out["supported"] and out["status"] == 0, (bdev, out)
        info = target.rpc("bdev_get_bdevs", name=bdev)[0]
        assert info["supported_io_types"]["reset"], (bdev, info)


def test_a_reset_completes_after_the_ios_before_it(spdk_app, py_env):
    # Each read completes 20 ms later, from a thread: the reset waits for them.
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS),
                      config=config(disk("PySlow", SLOW, 8192, params={"delay_ms": 20})))
    out = target.rpc("test_own_io_reset", bdev="PySlow", reads=16)
    assert out["status"] == 0 and out["order"] == ["read"] * 16 + ["reset"], out


def test_an_unadvertised_unmap_succeeds_and_changes_nothing(spdk_app, py_env):
    # The S3, slow and RAM-like disks of tests without an unmap hook: SPDK
    # 24.01+'s NVMe-oF target passes a host's deallocate on regardless.
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS),
                      config=config(disk("PyNoUnmap", "tests.plugins.hintless_disk:NoUnmapDisk",
                                         8192)))
    pattern = os.urandom(8 * 512)
    target.rpc("test_own_io_write", bdev="PyNoUnmap", offset_blocks=64, data=pattern.hex())
    out = target.rpc("test_own_io_unmap", bdev="PyNoUnmap", offset_blocks=64, num_blocks=8)
    assert out == {"supported": False, "status": 0}, out
    assert target.rpc("test_own_io_read", bdev="PyNoUnmap", offset_blocks=64,
                      num_blocks=8) == pattern.hex()
    info = target.rpc("bdev_get_bdevs", name="PyNoUnmap")[0]
    assert not info["supported_io_types"]["unmap"], info


@pytest.mark.parametrize("engine", ENGINES)
def test_the_file_disks_unmap_punches_a_hole(spdk_app, py_env, tmp_path, engine):
    path = tmp_path / "disk.img"
    blocks = 8192
    target = spdk_app("spdk_tgt", env=py_env(PLUGINS), config=config(
        disk("PyFile", FILE, blocks, params={"path": str(path), **ENGINES[engine]})))
    chunk = os.urandom(16 * 512)  # 16 KiB of hex per RPC: inside 20.07's 32 KiB requests
    for lba in range(0, 512, 16):  # 256 KiB written
        target.rpc("test_own_io_write", bdev="PyFile", offset_blocks=lba, data=chunk.hex())
    allocated = os.stat(path).st_blocks
    out = target.rpc("test_own_io_unmap", bdev="PyFile", offset_blocks=128, num_blocks=256)
    assert out == {"supported": True, "status": 0}, out
    # 128 KiB given back to the file system (st_blocks counts 512 bytes)
    assert os.stat(path).st_blocks <= allocated - 256, (allocated, os.stat(path).st_blocks)
    zeros = bytes(16 * 512).hex()
    for lba in range(128, 384, 16):  # the hole reads as zeroes
        assert read(target, lba) == zeros, lba
    for lba in (0, 112, 384, 496):  # and what is around it, as written
        assert read(target, lba) == chunk.hex(), lba
    # write_zeroes: zeroes where the pattern was, without writing them
    target.rpc("test_own_io_write", bdev="PyFile", offset_blocks=128, data=chunk.hex())
    out = target.rpc("test_own_io_unmap", bdev="PyFile", offset_blocks=128, num_blocks=16,
                     write_zeroes=True)
    assert out == {"supported": True, "status": 0}, out
    assert read(target, 128) == zeros
    with open(path, "rb") as f:
        f.seek(128 * 512)
        assert f.read(16 * 512) == bytes(16 * 512)


def read(target, lba):
    return target.rpc("test_own_io_read", bdev="PyFile", offset_blocks=lba, num_blocks=16)
