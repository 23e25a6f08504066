"""Hybrid mode: C forwards, Python chooses. Verify, live mode switches, routing, counters."""

import threading

import pytest

from spdk.rpc.client import JSONRPCClient

from spdk_py.tools.process import parse_bdevperf, run_app
from tests.integration.test_passthru_io import MALLOC, stacked_config


def hybrid_config(policy=None):
    config = stacked_config(*MALLOC)
    params = config["subsystems"][0]["config"][1]["params"]
    params["mode"] = "hybrid"
    if policy is not None:
        params["policy"] = policy
    return config


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
def test_bdevperf_verify_hybrid(spdk_install, hugepages, py_env, cpumask):
    rc, out = run_app(spdk_install, "bdevperf", hybrid_config(),
                      ["-q", 32, "-o", 4096, "-w", "verify", "-t", 2, "-C"],
                      env=py_env(), cpumask=cpumask, timeout=60)
    result = parse_bdevperf(out)
    assert rc == 0 and not result.failed, out
    assert len([j for j in result.jobs if j.name == "PT0"]) == bin(int(cpumask, 16)).count("1")


def passed(outcome):
    """bdevperf's perform_tests succeeded: it answers 0 (20.07) or its results
    (later releases); a failed run is an error answer, or another number."""
    result = outcome.get("result")
    return "error" not in outcome and (result == 0 or isinstance(result, dict))


def perform_tests_in_background(perf, seconds):
    """perform_tests on a connection of its own, so other RPCs can run meanwhile."""
    outcome = {}

    def run():
        client = JSONRPCClient(str(perf.rpc_socket), timeout=seconds + 60)
        try:
            outcome["result"] = client.call("perform_tests")
        except Exception as exc:  # reported by the test, not lost in the thread
            outcome["error"] = exc
        finally:
            client.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def stats(target, name="PT0"):
    return target.rpc("bdev_python_passthru_get_stats", name=name)


def iostat(target, name):
    return next(b for b in target.rpc("bdev_get_iostat")["bdevs"] if b["name"] == name)


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
def test_live_mode_switch_during_verify(spdk_app, py_env, cpumask):
    perf = spdk_app("bdevperf", env=py_env(), config=hybrid_config(), cpumask=cpumask,
                    args=["-z", "-q", 64, "-o", 4096, "-w", "verify", "-t", 4, "-C"])
    thread, outcome = perform_tests_in_background(perf, 4)
    switches = 0
    while thread.is_alive() and switches < 400:
        perf.rpc("bdev_python_passthru_set_mode", name="PT0",
                 mode=("python", "hybrid")[switches % 2])
        switches += 1
    thread.join()
    # verify compares every block read with what was written: a lost, failed or
    # doubled I/O fails the run (bdevperf answers -1) or hangs it.
    assert passed(outcome), (outcome, perf.log_text()[-3000:])
    assert switches > 20
    # Both paths really ran: Python saw I/O, and so did C alone.
    counts = stats(perf)["io_types"]
    seen = sum(t.get("python_ios", 0) for t in counts.values())
    total = sum(t.get("ios", 0) for t in counts.values())
    assert 0 < seen < total


def test_routed_io_types_reach_python_and_others_do_not(spdk_app, py_env):
    perf = spdk_app("bdevperf", env=py_env(), config=hybrid_config({"io_types": ["write"]}),
                    args=["-z", "-q", 32, "-o", 4096, "-w", "randrw", "-M", 50, "-t", 2],
                    zcopy=False)
    before = stats(perf)["io_types"]
    thread, outcome = perform_tests_in_background(perf, 2)
    thread.join()
    assert passed(outcome), outcome
    after = stats(perf)
    assert after["mode"] == "hybrid" and after["policy"]["io_types"] == ["write"]
    writes, reads = after["io_types"]["write"], after["io_types"]["read"]
    assert writes["python_ios"] == writes["ios"] > 10000
    assert reads.get("python_ios", 0) == before.get("read", {}).get("python_ios", 0) == 0
    assert reads["ios"] > 10000


def test_lba_range_routing(spdk_app, py_env):
    # Only I/O touching the first 1024 of 65536 blocks goes to Python.
    perf = spdk_app("bdevperf", env=py_env(),
                    config=hybrid_config({"lba_start": 0, "lba_end": 1024}),
                    args=["-z", "-q", 32, "-o", 4096, "-w", "randread", "-t", 2], zcopy=False)
    thread, outcome = perform_tests_in_background(perf, 2)
    thread.join()
    assert passed(outcome), outcome
    reads = stats(perf)["io_types"]["read"]
    share = reads["python_ios"] / reads["ios"]
    assert 0.005 < share < 0.05, reads


def test_set_policy_rpc_validates_and_applies(spdk_app, py_env):
    perf = spdk_app("bdevperf", env=py_env(), config=hybrid_config(),
                    args=["-z", "-q", 1, "-o", 4096, "-w", "randread", "-t", 1])
    assert perf.rpc("bdev_python_passthru_set_policy", name="PT0", io_types=["read"],
                    lba_start=8, lba_end=16) is True
    info = perf.rpc("bdev_get_bdevs", name="PT0")[0]["driver_specific"]["python_passthru"]
    assert info["policy"] == {"io_types": ["read"], "lba_start": 8, "lba_end": 16}
    from spdk_py.tools.process import RpcError
    for bad, fragment in [({"io_types": ["bogus"]}, "unknown I/O type(s): bogus"),
                          ({"lba_start": 9, "lba_end": 3}, "lba_end must be above"),
                          ({"io_types": "read"}, "parameter io_types must be an array")]:
        with pytest.raises(RpcError) as err:
            perf.rpc("bdev_python_passthru_set_policy", name="PT0", **bad)
        assert err.value.code == -32602 and fragment in err.value.message
    with pytest.raises(RpcError) as err:
        perf.rpc("bdev_python_passthru_set_mode", name="PT0", mode="turbo")
    assert err.value.code == -32602
    with pytest.raises(RpcError) as err:
        perf.rpc("bdev_python_passthru_get_stats", name="Nope")
    assert err.value.code == -19


@pytest.mark.parametrize("mode", ["hybrid", "python"])
def test_stats_totals_match_the_bdev_layer_and_bdevperf(spdk_app, py_env, mode, executor_lock):
    config = hybrid_config()
    config["subsystems"][0]["config"][1]["params"]["mode"] = mode
    perf = spdk_app("bdevperf", env=py_env(), config=config, cpumask="0x3",
                    args=["-z", "-q", 32, "-o", 4096, "-w", "randrw", "-M", 70, "-t", 2,
                          "-C"], zcopy=False)
    before = stats(perf)["io_types"]
    thread, outcome = perform_tests_in_background(perf, 2)
    thread.join()
    assert passed(outcome), outcome
    ours = stats(perf)
    assert ours["mode"] == mode
    layer = iostat(perf, "PT0")
    read, write = ours["io_types"]["read"], ours["io_types"]["write"]
    # Reads and writes are the bdev layer's own count (plus the shim's count
    # of failures, none here): not counted twice.
    assert read["ios"] == layer["num_read_ops"]
    assert write["ios"] == layer["num_write_ops"]
    assert read["blocks"] * 512 == layer["bytes_read"]
    assert write["blocks"] * 512 == layer["bytes_written"]
    assert read["errors"] == write["errors"] == 0
    assert read["avg_latency_us"] > 0
    # bdevperf's own count is IOPS x seconds for the run alone.
    ran = read["ios"] + write["ios"] - before["read"]["ios"] - before.get("write", {}).get("ios", 0)
    total_iops = parse_bdevperf(perf.log_text()).total.iops
    assert abs(ran - total_iops * 2) / ran < 0.05, (ran, total_iops)
