"""NVMe passthrough through the Python passthru over a real NVMe namespace
(QEMU's, driven by SPDK's userspace PCIe driver), and write-zeroes checked by
data: what SPDK's bdevio tests of a bdev, compared with the raw namespace.

Commands go to a bdev with bdev_python_nvme_send_cmd (on the namespace and
on PT0 over it), and from an NVMe/TCP host through SPDK's target, which
forwards Identify Controller (admin_cmd_passthru) and I/O opcodes it does not
know itself to the namespace's bdev.
"""

import os

import pytest

from spdk_py.tools import nvmf
from spdk_py.tools.guest import NVME_SERIAL
from tests.integration import nvme_commands as nvme_cmd
from tests.integration.guest.conftest import attach, bdev_config, run_pcie
from tests.integration.guest.test_pcie_nvme import MODES, bdevperf

BLOCK = 512
BDEV = nvme_cmd.BDEV


def verify(target, name, lba=64, blocks=8):
    """The status of an NVMe Verify of blocks at lba: no data moves, and
    SPDK's NVMe-oF target does not execute it itself (it is passed through)."""
    return nvme_cmd.command(target, name, nvme_cmd.VERIFY, 1, lba, blocks - 1, data=b"",
                            method=BDEV)[0]


@pytest.mark.parametrize("mode", MODES)
def test_nvme_commands_through_the_vbdev_match_the_namespace(spdk_app, spdk_install, py_env,
                                                             nvme, mode):
    target = spdk_app("spdk_tgt", env=py_env(), mem_mb=512, pci=True,
                      args=spdk_install.pci_allow_args(nvme))
    target.rpc("bdev_nvme_attach_controller", name="Nvme0", trtype="pcie", traddr=nvme)
    # The namespace itself, before the vbdev claims it.
    raw_status, raw_identify = nvme_cmd.identify_controller(target, "Nvme0n1", method=BDEV)
    assert raw_status == nvme_cmd.SUCCESS
    assert nvme_cmd.serial_and_model(raw_identify)[0] == NVME_SERIAL
    first, second = os.urandom(8 * BLOCK), os.urandom(8 * BLOCK)
    assert nvme_cmd.write(target, "Nvme0n1", 1, 64, first, BLOCK, method=BDEV) == nvme_cmd.SUCCESS
    assert verify(target, "Nvme0n1") == nvme_cmd.SUCCESS

    target.rpc("bdev_python_passthru_create", base_bdev_name="Nvme0n1", name="PT0", mode=mode)
    types = target.rpc("bdev_get_bdevs", name="PT0")[0]["supported_io_types"]
    assert types["nvme_admin"] and types["nvme_io"], types
    assert nvme_cmd.identify_controller(target, "PT0", method=BDEV) == (raw_status, raw_identify)
    assert nvme_cmd.read(target, "PT0", 1, 64, 8, BLOCK, method=BDEV) == first
    assert verify(target, "PT0") == nvme_cmd.SUCCESS
    assert nvme_cmd.write(target, "PT0", 1, 128, second, BLOCK, method=BDEV) == nvme_cmd.SUCCESS
    if mode == "python":  # python mode's passthru sees every I/O in Python
        seen = target.rpc("bdev_python_passthru_get_stats", name="PT0")["io_types"]
        assert seen["nvme_io"]["python_ios"] >= 3 and seen["nvme_admin"]["python_ios"] >= 1
    assert target.rpc("bdev_python_passthru_delete", name="PT0") is True
    # What the vbdev wrote is on the namespace.
    assert nvme_cmd.read(target, "Nvme0n1", 1, 128, 8, BLOCK, method=BDEV) == second


@pytest.mark.parametrize("mode", MODES)
def test_nvme_passthrough_from_an_nvme_tcp_host(spdk_app, spdk_install, py_env, nvme, mode):
    # The target forwards Identify Controller to its namespace's bdev (and
    # keeps the drive's serial and model); an I/O opcode it does not execute
    # itself (Verify) goes to the bdev as NVMe passthrough. Without the vbdev
    # forwarding them, the host would see SPDK's own serial and an internal
    # error.
    config = bdev_config(attach(nvme), {"method": "bdev_python_passthru_create", "params": {
        "base_bdev_name": "Nvme0n1", "name": "PT0", "mode": mode}})
    config["subsystems"].append({"subsystem": "nvmf", "config": [
        {"method": "nvmf_set_config", "params": {"admin_cmd_passthru": {"identify_ctrlr": True}}}]})
    target = spdk_app("spdk_tgt", env=py_env(), config=config, mem_mb=512, pci=True,
                      cpumask="0x1", args=spdk_install.pci_allow_args(nvme))
    port = nvmf.free_port()
    # One namespace at most: modern SPDK forwards Identify only for such a subsystem.
    nqn = nvmf.export(target, "PT0", port, max_namespaces=1)
    host = spdk_app("spdk_tgt", env=py_env(), cpumask="0x2", mem_mb=512)
    host.rpc("bdev_nvme_attach_controller",
             **nvmf.initiator_config(port, nqn)["subsystems"][0]["config"][0]["params"])
    status, identify = nvme_cmd.identify_controller(host, "Remote")
    assert status == nvme_cmd.SUCCESS
    serial, model = nvme_cmd.serial_and_model(identify)
    assert serial == NVME_SERIAL and "QEMU" in model, (serial, model)
    assert verify(host, "Remoten1") == nvme_cmd.SUCCESS
    # And the host's ordinary I/O through the same path reads what it wrote.
    pattern = os.urandom(8 * BLOCK)
    assert nvme_cmd.write(host, "Remoten1", 1, 256, pattern, BLOCK, method=BDEV) == nvme_cmd.SUCCESS
    assert nvme_cmd.read(host, "Remoten1", 1, 256, 8, BLOCK, method=BDEV) == pattern


@pytest.mark.parametrize("mode", MODES)
def test_write_zeroes_reads_back_zeros(spdk_install, py_env, nvme, pcie_stack, mode, tmp_path):
    # A pattern first (on the namespace: checked), then write-zeroes through
    # the vbdev over it, then zeros read back through the vbdev and from the
    # namespace itself. bdevperf's write_zeroes walks the bdev from block 0.
    size = 1 << 20
    pattern = tmp_path / "pattern.bin"
    pattern.write_bytes(os.urandom(size))
    rc, out = run_pcie(spdk_install, "spdk_dd", pcie_stack(mode),
                       ["--if", pattern, "--ob", "PT0", "--bs", 65536], env=py_env(), timeout=120)
    assert rc == 0, out
    assert read_back(spdk_install, bdev_config(attach(nvme)), "Nvme0n1", tmp_path,
                     size) == pattern.read_bytes()
    rc, out, result = bdevperf(spdk_install, py_env, pcie_stack(mode), "write_zeroes",
                               seconds=2)
    assert rc == 0 and not result.failed, out
    io_size = 4096
    assert result.total.iops * 2 * io_size >= 4 * size, "write_zeroes covered too little: " + out
    assert read_back(spdk_install, pcie_stack(mode), "PT0", tmp_path, size,
                     env=py_env()) == bytes(size)
    assert read_back(spdk_install, bdev_config(attach(nvme)), "Nvme0n1", tmp_path,
                     size) == bytes(size)


def read_back(spdk_install, config, bdev, tmp_path, size, env=None):
    out_file = tmp_path / ("%s.bin" % bdev)
    rc, out = run_pcie(spdk_install, "spdk_dd", config,
                       ["--ib", bdev, "--of", out_file, "--bs", 65536, "--count", size // 65536],
                       env=env, timeout=120)
    assert rc == 0, out
    return out_file.read_bytes()

