"""The example modules in examples/, each in a real SPDK process."""

import os

import pytest

from spdk_py.tools.process import RpcError, parse_bdevperf, rpc_py, run_app
from spdk_py._runtime.plugins import DEFAULT
from tests.integration.test_hybrid import iostat, perform_tests_in_background

EXAMPLES = ",".join(DEFAULT + ("examples.error_injector", "examples.readonly_guard",
                               "examples.latency_histogram", "examples.xor"))


def stack(method, **extra):
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 65536, "block_size": 512}},
        {"method": method, "params": dict(base_bdev_name="Malloc0", name="Ex0", **extra)},
    ]}]}


def run(spdk_app, py_env, config, *args, rpcs=()):
    perf = spdk_app("bdevperf", env=py_env(EXAMPLES), config=config,
                    args=["-z", "-f", "-q", 16, "-o", 4096, "-t", 2, *args], zcopy=False)
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
    # Reads go to Python (submit_read), and only the chosen ones failed.
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    assert stats["read"]["errors"] == counts["read"]
    assert stats["write"]["errors"] == 0
    # Successful reads are the bdev layer's count, failed ones the shim's:
    # every read is counted, once.
    assert stats["read"]["ios"] == iostat(perf, "Ex0")["num_read_ops"] + counts["read"]


def test_readonly_guard(spdk_app, py_env):
    perf = run(spdk_app, py_env, stack("bdev_readonly_guard_create", lba_start=0, lba_end=8192),
               "-w", "randrw", "-M", 50)
    refused = perf.rpc("bdev_readonly_guard_get_refused", name="Ex0")
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    # About 1/8 of the writes fall in the range; no read is refused.
    assert 0 < refused == stats["write"]["errors"] < stats["write"]["ios"] / 4, (refused, stats)
    assert stats["read"]["errors"] == 0


@pytest.mark.parametrize("mode", ["python", "hybrid"])
def test_latency_histogram(spdk_app, py_env, mode):
    perf = run(spdk_app, py_env, stack("bdev_latency_histogram_create", mode=mode), "-w", "randrw",
               "-M", 70)
    histogram = perf.rpc("bdev_latency_histogram_get", name="Ex0")["io_types"]
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    for io_type in ("read", "write"):
        summary = histogram[io_type]
        # Every I/O is in the histogram (C counts them all), none went through Python.
        assert summary["ios"] == sum(summary["buckets"].values()) == stats[io_type]["ios"] > 1000
        assert "python_ios" not in stats[io_type]
        assert 0 < summary["p50_us"] <= summary["p99_us"]
        assert all(k.startswith("<") and k.endswith("us") for k in summary["buckets"])
    assert histogram["read"]["ios"] > histogram["write"]["ios"]


def test_unhooked_types_stay_in_c(spdk_app, py_env):
    # The read-only guard hooks writes only: reads are forwarded in C, never seen by Python.
    perf = run(spdk_app, py_env, stack("bdev_readonly_guard_create", lba_start=0, lba_end=1),
               "-w", "randrw", "-M", 50)
    stats = perf.rpc("bdev_python_passthru_get_stats", name="Ex0")["io_types"]
    assert stats["write"]["python_ios"] >= stats["write"]["ios"] > 1000
    assert "python_ios" not in stats["read"] and stats["read"]["ios"] > 1000


KEY = "a5c3"


def xor_bytes(data, key):
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(data))


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
def test_xor_verify(spdk_install, hugepages, py_env, cpumask):
    rc, out = run_app(spdk_install, "bdevperf", stack("bdev_xor_create", key=KEY),
                      ["-q", 32, "-o", 4096, "-w", "verify", "-t", 2, "-C"],
                      env=py_env(EXAMPLES), cpumask=cpumask, timeout=60)
    result = parse_bdevperf(out)
    assert rc == 0 and not result.failed and result.jobs, out


def test_xor_base_holds_transformed_bytes(spdk_install, hugepages, py_env, tmp_path):
    size = 1024 * 1024
    backing = tmp_path / "backing.img"
    backing.write_bytes(b"\0" * size)
    pattern = os.urandom(size)
    (tmp_path / "pattern.bin").write_bytes(pattern)
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_aio_create", "params": {"name": "Base0", "filename": str(backing),
                                                 "block_size": 512}},
        {"method": "bdev_xor_create", "params": {"base_bdev_name": "Base0", "name": "Xor0",
                                                 "key": KEY}},
    ]}]}

    def dd(*args):
        rc, out = run_app(spdk_install, "spdk_dd", config, [*args, "--bs", 65536, "--qd", 4],
                          env=py_env(EXAMPLES), timeout=60)
        assert rc == 0, out

    dd("--if", tmp_path / "pattern.bin", "--ob", "Xor0")
    on_base = backing.read_bytes()
    assert on_base != pattern
    assert on_base == xor_bytes(pattern, bytes.fromhex(KEY) * (512 // 2))
    dd("--ib", "Xor0", "--of", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == pattern


def test_xor_refuses_bad_keys_and_hybrid(spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(EXAMPLES))
    target.rpc("bdev_malloc_create", name="Malloc0", num_blocks=2048, block_size=512)
    for key, message in [("zz", "hex digits"), ("", "power of two"), ("a1b2c3", "power of two")]:
        with pytest.raises(RpcError, match=message):
            target.rpc("bdev_xor_create", base_bdev_name="Malloc0", name="Xor0", key=key)
    target.rpc("bdev_xor_create", base_bdev_name="Malloc0", name="Xor0", key=KEY)
    with pytest.raises(RpcError, match="python mode only"):
        target.rpc("bdev_python_passthru_set_mode", name="Xor0", mode="hybrid")
    assert target.rpc("bdev_get_bdevs", name="Xor0")[0]["driver_specific"]["xor"]["key_bytes"] == 2


def test_example_rpcs_through_rpc_py_plugin(spdk_install, spdk_app, py_env):
    target = spdk_app("spdk_tgt", env=py_env(EXAMPLES))

    def run(*args):
        return rpc_py(spdk_install, target.rpc_socket, *args, plugins=EXAMPLES)

    target.rpc("bdev_malloc_create", name="Malloc0", num_blocks=2048, block_size=512)
    created = run("bdev_error_injector_create", "--base-bdev-name", "Malloc0", "--name", "Ex0")
    assert created.returncode == 0, created.stderr
    set_rule = run("bdev_error_injector_set", "--name", "Ex0", "--io-type", "write",
                   "--share", "1")
    assert set_rule.returncode == 0, set_rule.stderr
    bad = run("bdev_error_injector_set", "--name", "Ex0", "--io-type", "trim", "--share", "1")
    assert bad.returncode != 0 and "io_type must be read or write" in bad.stdout + bad.stderr


def test_hello_gather_prints_every_block(spdk_install, hugepages, py_env):
    # Each block written and read back with its own string, all I/Os of a
    # round in flight at once (asyncio.gather); printed in block order.
    config = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 2048, "block_size": 512}}]}]}
    env = dict(py_env(main="examples.hello_gather:main"), SPDK_PY_HELLO_BLOCKS="12")
    rc, out = run_app(spdk_install, "spdk_tgt", config, [], env=env, timeout=60)
    assert rc == 0, out
    printed = [line for line in out.splitlines() if line.startswith("Read string from bdev")]
    assert printed == ["Read string from bdev block %d : Hello from block %d!" % (n, n)
                       for n in range(12)], out
