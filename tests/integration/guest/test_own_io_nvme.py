"""Python's own I/O on a real NVMe namespace (QEMU's, through SPDK's userspace
PCIe driver): DMA buffers that the device reads and writes. hello_bdev and
the I/O generator's verify on Nvme0n1, and the Python mirror over the
namespace and a malloc bdev under bdevperf's verify."""

import json

from tests.integration.guest.conftest import attach, bdev_config, run_pcie
from tests.integration.guest.test_pcie_nvme import bdevperf

MIRROR = "spdk_py.passthru,examples.mirror"


def test_hello_bdev_on_the_namespace(spdk_install, py_env, nvme):
    env = dict(py_env(main="examples.hello_bdev:main"), SPDK_PY_HELLO_BDEV="Nvme0n1")
    rc, out = run_pcie(spdk_install, "spdk_tgt", bdev_config(attach(nvme)), [], env=env,
                       mem_mb=512, timeout=120)
    assert rc == 0 and "Read string from bdev : Hello World!" in out, out


def test_the_io_generator_verifies_the_namespace(spdk_install, py_env, nvme):
    env = dict(py_env(main="examples.io_generator:main"), SPDK_PY_IOGEN=json.dumps(
        {"bdev": "Nvme0n1", "workload": "verify", "queue_depth": 16, "seconds": 2}))
    rc, out = run_pcie(spdk_install, "spdk_tgt", bdev_config(attach(nvme)), [], env=env,
                       mem_mb=512, timeout=120)
    line = next((ln for ln in out.splitlines() if ln.startswith("iogen result: ")), None)
    assert rc == 0 and line is not None, out
    result = json.loads(line[len("iogen result: "):])
    assert result["ios"] > 0 and result["errors"] == result["mismatches"] == 0, result


def test_a_mirror_over_the_namespace_and_a_malloc_bdev(spdk_install, py_env, nvme, zeroed):
    zeroed()
    config = bdev_config(attach(nvme), {"method": "bdev_malloc_create", "params": {
        "name": "Malloc0", "num_blocks": 131072, "block_size": 512}},
        {"method": "bdev_pymirror_create", "params": {"name": "Mirror0",
                                                      "base_bdevs": ["Nvme0n1", "Malloc0"]}})
    rc, out, result = bdevperf(spdk_install, py_env, config, "verify", plugins=MIRROR)
    assert rc == 0 and not result.failed and "mismatch" not in out, out
    assert any(j.name == "Mirror0" for j in result.jobs) and result.total.iops > 0, out
