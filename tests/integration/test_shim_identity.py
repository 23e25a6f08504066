"""A shim loaded into another SPDK build is refused before it runs anything.

"Another build" here is this SPDK's own libraries copied with one byte of
libspdk_bdev.so's GNU build-id changed: to the shim, exactly a different
build (by hand, a shim built for v26.05 preloaded into 20.07's bdevperf
is refused the same way).
"""

import shutil
import subprocess

import pytest

from spdk_py.tools import launch, spdk_identity


def another_build(spdk_install, tmp_path):
    """A copy of the SPDK tree's include/ and build/lib/ whose libspdk_bdev.so
    has another build-id."""
    root = tmp_path / "other-spdk"
    shutil.copytree(spdk_install.root / "include", root / "include")
    shutil.copytree(spdk_install.root / "build" / "lib", root / "build" / "lib", symlinks=True)
    lib = (root / "build" / "lib" / spdk_identity.LIBRARY).resolve()
    ident = spdk_identity.identity(spdk_install.root)
    assert ident["build_id"], "SPDK's libraries have no GNU build-id: %s" % ident
    data = bytearray(lib.read_bytes())
    at = data.find(bytes.fromhex(ident["build_id"]))
    assert at > 0
    data[at] ^= 0xFF
    lib.write_bytes(bytes(data))
    return root


def test_the_shim_refuses_another_spdk_at_load(spdk_install, shim_path, tmp_path):
    other = another_build(spdk_install, tmp_path)
    env = launch.app_env(spdk_install, shim_path, base={})
    env["LD_LIBRARY_PATH"] = "%s:%s" % (other / "build" / "lib", env["LD_LIBRARY_PATH"])
    proc = subprocess.run([str(spdk_install.bin("spdk_tgt")), "-u", "-s", "64", "-r",
                           str(tmp_path / "rpc.sock")], env=env, capture_output=True,
                          text=True, timeout=30)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("spdk_py:")]
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and "refusing to load" in lines[0], proc.stderr
    built = spdk_identity.identity(spdk_install.root)
    running = spdk_identity.identity(other)
    assert built["build_id"][:16] in lines[0] and running["build_id"][:16] in lines[0]
    assert "SPDK %s" % built["version"] in lines[0]
    # It stopped before SPDK started: nothing of SPDK's own start-up ran.
    assert "Starting SPDK" not in proc.stdout + proc.stderr


def test_the_launcher_refuses_it_before_starting(spdk_install, shim_path, tmp_path):
    other = another_build(spdk_install, tmp_path)
    with pytest.raises(spdk_identity.ShimMismatch) as err:
        spdk_identity.check(shim_path, other)
    assert str(shim_path) in str(err.value) and str(other) in str(err.value)


def test_the_shim_loads_into_its_own_spdk(spdk_install, shim_path):
    spdk_identity.check(shim_path, spdk_install.root)
