"""Fixtures inside the emulated-NVMe guest, which tests/integration/test_emulated_nvme.py
boots; tests here never run on the host.

    nvme          function  the QEMU NVMe controller's PCI address, bound as SPDK's setup.sh binds
    pcie_stack    function  a bdev config: the controller attached over PCIe (Nvme0n1), the
                            Python passthru PT0 over it in the mode asked
    zeroed        function  blank_namespace, as a fixture
"""

import os
import subprocess
import time

import pytest

from spdk_py.tools.process import run_app

NVME_CLASS = "0x010802"
DEVICES = "/sys/bus/pci/devices"


def controllers():
    """PCI addresses of the guest's NVMe controllers."""
    return sorted(d for d in os.listdir(DEVICES)
                  if open(os.path.join(DEVICES, d, "class")).read().startswith(NVME_CLASS))


def driver_of(bdf):
    link = os.path.join(DEVICES, bdf, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def bind(bdf):
    """As SPDK's scripts/setup.sh: vfio-pci where the device has an IOMMU group,
    uio_pci_generic otherwise (this guest has no IOMMU); returns the driver."""
    driver = "vfio-pci" if os.path.exists(os.path.join(DEVICES, bdf, "iommu_group")) \
        else "uio_pci_generic"
    subprocess.run(["modprobe", "-d", os.environ["SPDK_PY_GUEST_MODULES"],
                    "-S", os.environ["SPDK_PY_GUEST_KERNEL"], driver], check=True)
    current = driver_of(bdf)
    if current == driver:
        return driver
    if current is not None:
        with open(os.path.join(DEVICES, bdf, "driver/unbind"), "w") as f:
            f.write(bdf)
    with open(os.path.join(DEVICES, bdf, "driver_override"), "w") as f:
        f.write(driver)
    with open("/sys/bus/pci/drivers_probe", "w") as f:
        f.write(bdf)
    deadline = time.monotonic() + 10
    while driver_of(bdf) != driver and time.monotonic() < deadline:
        time.sleep(0.1)
    assert driver_of(bdf) == driver, (bdf, driver_of(bdf))
    return driver


@pytest.fixture
def nvme():
    """The controller's address now (a hot-remove test may put it back elsewhere)."""
    found = controllers()
    assert len(found) == 1, "the guest has NVMe controllers %s; QEMU gave it one" % found
    bind(found[0])
    return found[0]


def attach(bdf):
    return {"method": "bdev_nvme_attach_controller",
            "params": {"name": "Nvme0", "trtype": "pcie", "traddr": bdf}}


def bdev_config(*entries):
    return {"subsystems": [{"subsystem": "bdev", "config": list(entries)}]}


@pytest.fixture
def pcie_stack(nvme):
    def make(mode, method="bdev_python_passthru_create", **params):
        return bdev_config(attach(nvme), {"method": method, "params": dict(
            base_bdev_name="Nvme0n1", name="PT0", **({"mode": mode} if mode else {}), **params)})
    return make


def run_pcie(spdk_install, app, config, args, **kwargs):
    """run_app with the controller visible: PCI on, only that address allowed."""
    bdf = config["subsystems"][0]["config"][0]["params"]["traddr"]
    return run_app(spdk_install, app, config, [*spdk_install.pci_allow_args(bdf), *args],
                   pci=True, **kwargs)


def blank_namespace():
    """Zeroes the namespace: its QEMU image, which the host shares with the
    guest, emptied (a new SSD, in effect), so that a write lost on the way
    reads back as zeros. Only between runs, with no SPDK process on it."""
    path = os.environ["SPDK_PY_GUEST_NVME_IMAGE"]
    size = os.path.getsize(path)
    os.truncate(path, 0)
    os.truncate(path, size)


@pytest.fixture
def zeroed(nvme):
    return blank_namespace
