"""COMPARE and COPY through the vbdev, sent by a real NVMe/TCP host.

The target exports one subsystem with two namespaces: 1 is the Python
passthru over Malloc0, 2 is Malloc1 itself. Every command goes to both, and
the vbdev must answer exactly as a bare bdev does (a miscompare included),
forwarding the types its base has.
"""

import os

import pytest

from spdk_py.tools import nvmf
from tests.integration import nvme_commands as nvme

BLOCK = 512
BLOCKS = 16384
VBDEV_NS, BARE_NS = 1, 2


@pytest.fixture(params=["python", "hybrid"])
def host(request, spdk_app, py_env):
    """(target, initiator) with the two namespaces attached as controller Remote."""
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)
    for name in ("Malloc0", "Malloc1"):
        target.rpc("bdev_malloc_create", name=name, num_blocks=BLOCKS, block_size=BLOCK)
    target.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0",
               mode=request.param)
    port = nvmf.free_port()
    nqn = nvmf.export(target, "PT0", port)
    target.rpc("nvmf_subsystem_add_ns", nqn=nqn, namespace={"bdev_name": "Malloc1"})
    initiator = spdk_app("spdk_tgt", cpumask="0x2", mem_mb=512)
    params = nvmf.initiator_config(port, nqn)["subsystems"][0]["config"][0]["params"]
    initiator.rpc("bdev_nvme_attach_controller", **params)
    return target, initiator


def both(operation, *args):
    """operation's result on the vbdev's namespace and on the bare one."""
    return [operation(*args[:2], nsid, *args[2:]) for nsid in (VBDEV_NS, BARE_NS)]


def supported(target, bdev, io_type):
    return target.rpc("bdev_get_bdevs", name=bdev)[0]["supported_io_types"].get(io_type, False)


def ios(target, io_type):
    stats = target.rpc("bdev_python_passthru_get_stats", name="PT0")["io_types"]
    return stats.get(io_type, {}).get("ios", 0)


def test_compare(spdk_install, host):
    if not spdk_install.at_least(21, 4):
        pytest.skip("SPDK %s's bdev_nvme_send_cmd sends no I/O command: it asks for a "
                    "channel of an unregistered io_device (fixed in 21.04)"
                    % spdk_install.version_string)
    target, initiator = host
    data = os.urandom(8 * BLOCK)
    assert both(nvme.write, initiator, "Remote", 64, data, BLOCK) == [nvme.SUCCESS] * 2
    before = ios(target, "compare")
    same = both(nvme.compare, initiator, "Remote", 64, data, BLOCK)
    changed = data[:-1] + bytes([data[-1] ^ 0xff])
    differ = both(nvme.compare, initiator, "Remote", 64, changed, BLOCK)
    assert same == [nvme.SUCCESS] * 2
    # A miscompare reaches the host as the bare bdev's does (the NVMe Compare
    # Failure status where the SPDK maps it; 20.07's nvmf does not).
    assert differ[0] == differ[1] != nvme.SUCCESS, differ
    # The vbdev has COMPARE as its base has it from 24.05, and forwards it
    # (before, or without, the bdev layer compares, reading through the vbdev).
    forwards = supported(target, "Malloc0", "compare") and spdk_install.at_least(24, 5)
    assert supported(target, "PT0", "compare") == forwards
    assert ios(target, "compare") - before == (2 if forwards else 0)


def test_copy(spdk_install, host):
    if not spdk_install.at_least(23, 1):
        pytest.skip("SPDK %s has no COPY (spdk_bdev_copy_blocks came in 23.01)"
                    % spdk_install.version_string)
    target, initiator = host
    data = os.urandom(4 * BLOCK)
    assert both(nvme.write, initiator, "Remote", 100, data, BLOCK) == [nvme.SUCCESS] * 2
    assert both(nvme.copy, initiator, "Remote", 9000, 100, 4) == [nvme.SUCCESS] * 2
    assert both(nvme.read, initiator, "Remote", 9000, 4, BLOCK) == [data, data]
    # The vbdev forwarded it (malloc has COPY), not the bdev layer by reads and writes.
    assert ios(target, "copy") == 1
