"""The example modules in examples/, each in a real SPDK process."""

import os
import subprocess
import sys

from spdk_py import shim
from spdk_py.plugins import DEFAULT
from tests.integration.test_hybrid import perform_tests_in_background

EXAMPLES = ",".join(DEFAULT + ("examples.error_injector", "examples.readonly_guard",
                               "examples.latency_histogram"))


def stack(method, **extra):
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 65536, "block_size": 512}},
        {"method": method, "params": dict(base_bdev_name="Malloc0", name="Ex0", **extra)},
    ]}]}


def run(spdk_app, py_env, config, *args, rpcs=()):
    perf = spdk_app("bdevperf", env=py_env(EXAMPLES), config=config,
                    args=["-z", "-f", "-x", "-q", 16, "-o", 4096, "-t", 2, *args])
    for method, params in rpcs:
        perf.rpc(method, **params)
    thread, outcome = perform_tests_in_background(perf, 2)
    thread.join(timeout=60)
    assert "result" in outcome, outcome
    return perf


def test_error_injector(spdk_app, py_env):
    perf = run(spdk_app, py_env, stack("bdev_error_injector_create"), "-w", "randrw", "-M", 50,
               rpcs=[("bdev_error_injector_set",
                      {"name": "Ex0", "io_type": "read", "share": 0.5, "lba_start": 0,
                       "lba_end": 32768})])
    counts = perf.rpc("bdev_error_injector_get_counts", name="Ex0")
    assert counts.get("read", 0) > 100 and "write" not in counts, counts
    # Reads go to Python one by one (submit_request), and only the chosen ones failed.
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    assert stats["read"]["errors"] == counts["read"]
    assert stats["write"]["errors"] == 0


def test_readonly_guard(spdk_app, py_env):
    perf = run(spdk_app, py_env, stack("bdev_readonly_guard_create", lba_start=0, lba_end=8192),
               "-w", "randrw", "-M", 50)
    refused = perf.rpc("bdev_readonly_guard_get_refused", name="Ex0")
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    # About 1/8 of the writes fall in the range; no read is refused.
    assert 0 < refused == stats["write"]["errors"] < stats["write"]["ios"] / 4, (refused, stats)
    assert stats["read"]["errors"] == 0


def test_latency_histogram(spdk_app, py_env):
    perf = run(spdk_app, py_env, stack("bdev_latency_histogram_create"), "-w", "randread")
    histogram = perf.rpc("bdev_latency_histogram_get", name="Ex0")
    reads = sum(histogram["read"].values())
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    assert reads == stats["read"]["ios"] > 1000
    assert all(k.startswith("<") and k.endswith("us") for k in histogram["read"])


def test_example_rpcs_through_rpc_py_plugin(spdk_install, spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(EXAMPLES))
    env = dict(os.environ, PYTHONPATH=str(shim.ROOT), SPDK_PY_PLUGINS=EXAMPLES)
    base = [sys.executable, str(spdk_install.rpc_py), "-s", str(target.rpc_socket),
            "--plugin", "spdk_py.rpc_plugin"]
    target.rpc("bdev_malloc_create", name="Malloc0", num_blocks=2048, block_size=512)
    created = subprocess.run(base + ["bdev_error_injector_create", "--base-bdev-name", "Malloc0",
                                     "--name", "Ex0"], env=env, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    set_rule = subprocess.run(base + ["bdev_error_injector_set", "--name", "Ex0", "--io-type",
                                      "write", "--share", "1"], env=env, capture_output=True,
                              text=True)
    assert set_rule.returncode == 0, set_rule.stderr
    bad = subprocess.run(base + ["bdev_error_injector_set", "--name", "Ex0", "--io-type",
                                 "trim", "--share", "1"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "io_type must be read or write" in bad.stdout + bad.stderr
