"""spdk_py as a user gets it: a wheel built from this tree, installed into a
fresh venv outside the checkout, used from a directory that holds only the
user's own Disk module, with SPDK_DIR set and nothing else: the shim built
(into the per-user cache), bdevperf verifying that disk and the Python
passthru over it from a --json config, spdk_tgt serving it to SPDK's own
rpc.py."""

import os
import signal
import subprocess
import sys
import time

import pytest

from spdk_py.tools.hugepages import cleanup_pid
from spdk_py.tools.process import parse_bdevperf
from spdk_py.tools.shim import ROOT

USER_DISK = '''
"""A user's own disk: data in a bytearray."""
from spdk_py.disk import Disk


class MyDisk(Disk):
    product_name = "my disk"

    def open(self, params):
        self.data = bytearray(self.num_blocks * self.block_size)

    def read(self, io, offset, buf):
        buf[:] = self.data[offset:offset + len(buf)]

    def write(self, io, offset, buf):
        self.data[offset:offset + len(buf)] = buf
'''

CONFIG = '''{"subsystems": [{"subsystem": "bdev", "config": [
  {"method": "bdev_python_disk_create",
   "params": {"name": "Mine0", "plugin": "mydisk:MyDisk", "num_blocks": 65536}},
  {"method": "bdev_python_passthru_create",
   "params": {"base_bdev_name": "Mine0", "name": "PT0"}}]}]}
'''


def run(cmd, env, cwd, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, "%s\n%s\n%s" % (cmd, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv's bin dir, a clean environment) with spdk_py installed from a wheel."""
    top = tmp_path_factory.mktemp("installed")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SPDK_PY_SHIM", "SPDK_PY_PLUGINS")}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
         top / "dist", ROOT], env, top)
    wheel = next((top / "dist").glob("spdk_py-*.whl"))
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", top / "venv"], env, top)
    run([top / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], env, top)
    return top / "venv" / "bin", dict(env, SPDK_PY_CACHE=str(top / "cache"))


def test_a_wheel_outside_the_checkout_builds_its_shim_and_serves_a_users_disk(
        installed, spdk_install, hugepages, tmp_path):
    bin_dir, env = installed
    env["SPDK_DIR"] = str(spdk_install.root)
    user = tmp_path / "user"
    user.mkdir()
    (user / "mydisk.py").write_text(USER_DISK)
    (user / "bdev.json").write_text(CONFIG)
    # Nothing of the checkout is imported: the package is the venv's.
    where = run([bin_dir / "python", "-c", "import spdk_py; print(spdk_py.__file__)"], env, user)
    assert str(bin_dir.parent) in where and str(ROOT) not in where, where

    shim = run([bin_dir / "spdk-py", "shim", "build"], env, user).strip().splitlines()[-1]
    assert shim.startswith(env["SPDK_PY_CACHE"]) and os.path.exists(shim), shim

    locks = spdk_install.harness_args()
    out = run([bin_dir / "spdk-py", "run", "--app", "bdevperf", "--", "-m", "0x1", "-s", "512",
               "-u", *locks, "--json", "bdev.json", "-q", "16", "-o", "4096", "-w", "verify",
               "-t", "2", *spdk_install.bdevperf_zcopy(False)], env, user, timeout=180)
    result = parse_bdevperf(out)
    assert not result.failed and "mismatch" not in out, out
    # bdevperf runs every unclaimed bdev: the passthru, over the user's disk.
    assert [j.name for j in result.jobs] == ["PT0"] and result.total.iops > 0, out

    socket = tmp_path / "spdk.sock"
    target = subprocess.Popen([str(bin_dir / "spdk-py"), "run", "--", "-m", "0x1", "-s", "256",
                               "-u", *locks, "-r", str(socket)], env=env, cwd=user,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            assert target.poll() is None and time.monotonic() < deadline, target.stdout.read()
            time.sleep(0.2)
        rpc = [bin_dir / "python", spdk_install.rpc_py, "-s", socket]
        rpc_env = dict(env, PYTHONPATH=str(spdk_install.root / "python"))
        run([*rpc, "--plugin", "spdk_py.tools.rpc_plugin", "bdev_python_disk_create",
             "-b", "Mine1", "-p", "mydisk:MyDisk", "-n", "4096"], rpc_env, user)
        listed = run([*rpc, "bdev_get_bdevs", "-b", "Mine1"], rpc_env, user)
        assert '"product_name": "my disk"' in listed and '"num_blocks": 4096' in listed, listed
    finally:
        target.send_signal(signal.SIGINT)
        try:
            target.wait(timeout=30)
        finally:
            if target.poll() is None:
                target.kill()
            cleanup_pid(target.pid)
