"""The harness against a stock SPDK: RPC to spdk_tgt, SPDK's own C passthru, bdevperf."""

import errno
import glob
from pathlib import Path

import pytest

from spdk_py.tools.process import RpcError, SpdkProcessError, parse_bdevperf, run_app


def bdevs_by_name(proc):
    return {b["name"]: b for b in proc.rpc("bdev_get_bdevs")}


def test_c_passthru_over_malloc(spdk_tgt):
    assert spdk_tgt.rpc("bdev_malloc_create", name="Malloc0", num_blocks=2048,
                        block_size=512) == "Malloc0"
    assert spdk_tgt.rpc("bdev_passthru_create", base_bdev_name="Malloc0",
                        name="PT0") == "PT0"

    bdevs = bdevs_by_name(spdk_tgt)
    assert set(bdevs) == {"Malloc0", "PT0"}
    pt = bdevs["PT0"]
    assert pt["product_name"] == "passthru"
    assert pt["driver_specific"]["passthru"] == {"name": "PT0", "base_bdev_name": "Malloc0"}
    assert (pt["num_blocks"], pt["block_size"]) == (2048, 512)
    assert bdevs["Malloc0"]["claimed"] is True
    assert pt["claimed"] is False

    # A claimed base cannot be claimed twice.
    with pytest.raises(RpcError):
        spdk_tgt.rpc("bdev_passthru_create", base_bdev_name="Malloc0", name="PT1")
    assert set(bdevs_by_name(spdk_tgt)) == {"Malloc0", "PT0"}

    spdk_tgt.rpc("bdev_passthru_delete", name="PT0")
    assert bdevs_by_name(spdk_tgt)["Malloc0"]["claimed"] is False
    spdk_tgt.rpc("bdev_malloc_delete", name="Malloc0")
    assert spdk_tgt.rpc("bdev_get_bdevs") == []
    with pytest.raises(RpcError) as err:
        spdk_tgt.rpc("bdev_get_bdevs", name="PT0")
    assert err.value.code == -errno.ENODEV


def test_rpc_error_carries_code_and_message(spdk_tgt):
    with pytest.raises(RpcError) as err:
        spdk_tgt.rpc_raw("no_such_method", None)
    assert (err.value.code, err.value.message) == (-32601, "Method not found")
    assert spdk_tgt.rpc("spdk_get_version")["version"].startswith("SPDK v")


def test_bdevperf_randread_on_malloc(spdk_install, hugepages):
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 16384, "block_size": 4096}},
    ]}]}
    rc, out = run_app(spdk_install, "bdevperf", config,
                      ["-q", 32, "-o", 4096, "-w", "randread", "-t", 2], timeout=60)
    assert rc == 0, out
    result = parse_bdevperf(out)
    assert [job.name for job in result.jobs] == ["Malloc0"], out
    assert result.total is not None, out
    assert result.total.iops > 0, out
    assert result.total.mib_per_s > 0, out
    assert not result.failed, out


def hugepage_files(pid):
    return glob.glob(f"/dev/hugepages/spdk_pid{pid}map_*")


def test_env_reaches_the_spdk_binary_and_stop_cleans_up(spdk_app):
    proc = spdk_app(wait_for_rpc=True, env={"SPDK_PY_HARNESS_MARK": "42"})
    assert Path(f"/proc/{proc.pid}/exe").resolve().name == "spdk_tgt"  # no wrapper
    environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
    assert b"SPDK_PY_HARNESS_MARK=42" in environ
    assert any(e.startswith(b"LD_LIBRARY_PATH=") and str(proc.install.root).encode() in e
               for e in environ)

    proc.rpc("framework_start_init")  # --wait-for-rpc: subsystems start on request
    assert proc.rpc("bdev_malloc_create", num_blocks=256, block_size=512) == "Malloc0"
    pid = proc.pid
    # 20.07 leaves its hugepage files in place (the harness removes them);
    # later releases ask DPDK to unlink them once mapped (--huge-unlink).
    unlinked = "--huge-unlink" in proc.log_text()
    assert bool(hugepage_files(pid)) is not unlinked
    assert proc.stop() == 0
    assert hugepage_files(pid) == []
    assert not proc.rpc_socket.exists()
    with pytest.raises(SpdkProcessError):
        proc.rpc("spdk_get_version")


def test_start_failure_raises_with_log(spdk_app):
    with pytest.raises(SpdkProcessError, match="exited with") as err:
        spdk_app(args=["--no-such-option"])
    assert "spdk_tgt" in str(err.value)


def test_run_app_timeout_kills_and_cleans_up(spdk_install, hugepages):
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_null_create",
         "params": {"name": "Null0", "num_blocks": 1024, "block_size": 4096}},
    ]}]}
    with pytest.raises(SpdkProcessError, match="killed") as err:
        run_app(spdk_install, "bdevperf", config,
                ["-q", 1, "-o", 4096, "-w", "read", "-t", 60], timeout=3)
    assert err.value.pid and hugepage_files(err.value.pid) == []


@pytest.mark.parametrize("launcher", [True, False])
def test_a_plugins_rpcs_in_a_json_config_with_spdk_py_plugins_alone(spdk_app, py_env, launcher):
    # By hand (LD_PRELOAD and SPDK_PY_PLUGINS, no SPDK_PY_RPC_METHODS) the
    # shim asks Python for the plugin's methods before the --json config runs.
    plugins = "spdk_py.passthru,examples.mirror"
    env = py_env(plugins) if launcher else dict(py_env(), SPDK_PY_PLUGINS=plugins)
    assert ("SPDK_PY_RPC_METHODS" in env) == launcher
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 8192, "block_size": 512}},
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc1", "num_blocks": 8192, "block_size": 512}},
        {"method": "bdev_pymirror_create",
         "params": {"name": "Mirror0", "base_bdevs": ["Malloc0", "Malloc1"]}},
    ]}]}
    target = spdk_app("spdk_tgt", env=env, config=config)
    assert target.rpc("bdev_pymirror_get", name="Mirror0")["state"] == "online"
