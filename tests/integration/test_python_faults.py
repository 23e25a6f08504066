"""Python exceptions on the I/O path: each fails exactly its own I/O, nothing is lost."""

from spdk_py._runtime.plugins import DEFAULT
from tests.integration.test_hybrid import passed

PLUGINS = ",".join(DEFAULT + ("tests.plugins.faulty",))


def faulty_stack(submit_every, complete_every):
    # bdevperf -> Counter (counts final statuses) -> Faulty (raises) -> Malloc0
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 65536, "block_size": 512}},
        {"method": "bdev_faulty_create",
         "params": {"base_bdev_name": "Malloc0", "name": "Faulty0",
                    "submit_every": submit_every, "complete_every": complete_every}},
        {"method": "bdev_counting_create", "params": {"base_bdev_name": "Faulty0", "name": "Counter0"}},
    ]}]}


def test_exceptions_in_submit_and_completion_fail_exactly_those_ios(spdk_app, py_env):
    # -z: wait for perform_tests, so the counters can be read before shutdown;
    # -f: keep going after failed I/O; no zero-copy, because 20.07's bdevperf
    # leaks its task when a zcopy write-prep fails and then waits for it forever.
    perf = spdk_app("bdevperf", env=py_env(PLUGINS), config=faulty_stack(10, 10),
                    args=["-z", "-f", "-q", 32, "-o", 4096, "-w", "randrw", "-M", 50,
                          "-t", 2], zcopy=False)
    # Examine (GPT reading each new bdev) already did a few I/Os: count the run alone.
    faulty_before = perf.rpc("bdev_faulty_get_counts", name="Faulty0")
    counter_before = perf.rpc("bdev_faulty_get_counts", name="Counter0")
    assert passed({"result": perf.rpc_raw("perform_tests", None, timeout=60)})

    def delta(name, before):
        after = perf.rpc("bdev_faulty_get_counts", name=name)
        return {k: after[k] - before[k] for k in after}

    faulty = delta("Faulty0", faulty_before)
    counter = delta("Counter0", counter_before)
    raised = faulty["raised_submit"] + faulty["raised_complete"]
    assert faulty["raised_submit"] > 100 and faulty["raised_complete"] > 100, (faulty, counter)
    # Every raise failed one I/O, and only those failed.
    assert counter["failed"] == raised
    assert faulty["exceptions"] == raised
    # Every I/O submitted to Faulty0 came back to Counter0 exactly once.
    assert counter["ok"] + counter["failed"] == faulty["submitted"]
    assert perf.alive()
    log = perf.log_text()
    assert "vbdev Faulty0: submit_request raised RuntimeError: injected submit fault" in log
    assert "vbdev Faulty0: complete_io raised RuntimeError: injected completion fault" in log
    # A clean SIGTERM shutdown: no I/O stuck in the stack.
    assert perf.stop(timeout=10) == 0
