"""The shim calls nothing SPDK has deprecated: SPDK logs each deprecated call
("deprecated feature ... to be removed in ...") and, at exit, the hits of each;
a target that ran the Python vbdevs through their life has no such line."""

import re

from spdk_py.tools.process import parse_bdevperf, run_app

DEPRECATION = re.compile(r"deprecat", re.IGNORECASE)


def test_no_deprecated_spdk_call(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(), mem_mb=512)
    for i, mode in enumerate(("python", "hybrid")):
        target.rpc("bdev_malloc_create", name="Malloc%d" % i, num_blocks=4096, block_size=512)
        target.rpc("bdev_python_passthru_create", base_bdev_name="Malloc%d" % i,
                   name="PT%d" % i, mode=mode)
    target.rpc("bdev_get_bdevs")
    target.rpc("bdev_python_passthru_get_stats", name="PT0")
    target.rpc("framework_get_config", name="bdev")  # what save_config writes
    for i in range(2):
        assert target.rpc("bdev_python_passthru_delete", name="PT%d" % i) is True
    assert target.stop() == 0
    found = [line for line in target.log_text().splitlines() if DEPRECATION.search(line)]
    assert not found, "\n".join(found)


def test_no_deprecated_spdk_call_on_the_io_path(spdk_install, py_env):
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 16384,
                                                    "block_size": 512}},
        {"method": "bdev_python_passthru_create", "params": {"base_bdev_name": "Malloc0",
                                                             "name": "PT0"}}]}]}
    rc, out = run_app(spdk_install, "bdevperf", config,
                      ["-q", 8, "-o", 4096, "-w", "verify", "-t", 1], env=py_env(), timeout=60)
    assert rc == 0 and not parse_bdevperf(out).failed, out
    found = [line for line in out.splitlines() if DEPRECATION.search(line)]
    assert not found, "\n".join(found)
