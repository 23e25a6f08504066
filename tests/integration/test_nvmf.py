"""The Python vbdev as an NVMe-oF/TCP namespace, with real SPDK initiators on loopback."""

import re
import time

import pytest

from spdk_py.tools import nvmf
from spdk_py.tools.process import parse_bdevperf, run_app
from tests.integration.test_hybrid import perform_tests_in_background


def serve(target, mode, size_blocks=65536):
    target.rpc("bdev_malloc_create", name="Malloc0", num_blocks=size_blocks, block_size=512)
    target.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0", mode=mode)
    port = nvmf.free_port()
    return port, nvmf.export(target, "PT0", port)


@pytest.fixture
def nvmf_tgt(spdk_app, py_env):
    # The target on core 0, initiators on core 1; 512 MB each.
    return spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)


@pytest.mark.parametrize("mode", ["python", "hybrid"])
def test_bdevperf_initiator_verify(spdk_install, nvmf_tgt, mode):
    port, nqn = serve(nvmf_tgt, mode)
    rc, out = run_app(spdk_install, "bdevperf", nvmf.initiator_config(port, nqn),
                      ["-q", 32, "-o", 4096, "-w", "verify", "-t", 3],
                      cpumask="0x2", mem_mb=512, timeout=90)
    result = parse_bdevperf(out)
    assert rc == 0 and not result.failed and result.total.iops > 1000, out
    stats = nvmf_tgt.rpc("bdev_python_passthru_get_stats", name="PT0")["io_types"]
    assert stats["write"]["ios"] > 1000 and stats["read"]["ios"] > 1000


def run_perf(spdk_install, port, nqn, seconds=3, extra=()):
    rc, out = run_app(spdk_install, "nvme_perf",
                      None, ["-q", 32, "-o", 4096, "-w", "randrw", "-M", 50, "-t", seconds,
                             "-c", "0x2", "-s", 512, "-r", nvmf.perf_transport_id(port, nqn),
                             *extra], timeout=90, app_args=False)
    return rc, out


def perf_total_iops(out):
    m = re.search(r"^Total\s*:\s*([\d.]+)\s", out, re.M)
    return float(m.group(1)) if m else None


@pytest.mark.parametrize("mode", ["python", "hybrid"])
def test_nvme_perf_initiator(spdk_install, nvmf_tgt, mode):
    port, nqn = serve(nvmf_tgt, mode)
    rc, out = run_perf(spdk_install, port, nqn)
    assert rc == 0, out
    assert perf_total_iops(out) > 1000, out


@pytest.mark.parametrize("remove", ["base", "vbdev"])
@pytest.mark.parametrize("mode", ["python", "hybrid"])
def test_removal_under_load(spdk_app, nvmf_tgt, mode, remove):
    port, nqn = serve(nvmf_tgt, mode)
    # -f: the initiator keeps going after errors, so the run ends on time.
    perf = spdk_app("bdevperf", config=nvmf.initiator_config(port, nqn), cpumask="0x2",
                    mem_mb=512, args=["-z", "-f", "-q", 32, "-o", 4096, "-w", "randrw",
                                      "-M", 50, "-t", 5])
    thread, outcome = perform_tests_in_background(perf, 5)
    time.sleep(1.5)
    if remove == "base":
        nvmf_tgt.rpc("bdev_malloc_delete", name="Malloc0")
    else:
        assert nvmf_tgt.rpc("bdev_python_passthru_delete", name="PT0") is True
    thread.join(timeout=90)
    assert not thread.is_alive(), "the initiator hung"
    assert "result" in outcome or "error" in outcome
    # The initiator saw errors, not a hang; the target keeps serving.
    assert perf.alive()
    names = [b["name"] for b in nvmf_tgt.rpc("bdev_get_bdevs")]
    assert "PT0" not in names
    # And both come back.
    if remove == "base":
        nvmf_tgt.rpc("bdev_malloc_create", name="Malloc0", num_blocks=65536, block_size=512)
    else:
        nvmf_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0",
                     mode=mode)
    assert "PT0" in [b["name"] for b in nvmf_tgt.rpc("bdev_get_bdevs")]
    nvmf_tgt.rpc("nvmf_subsystem_add_ns", nqn=nqn, namespace={"bdev_name": "PT0"})
    assert perf.stop() == 0
    rc, out = run_perf(perf.install, port, nqn, seconds=1)
    assert rc == 0 and perf_total_iops(out) > 100, out
