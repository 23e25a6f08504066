"""NVMe passthrough and the Python passthru, on the host: advertised only where
the base takes it, and bdev_python_nvme_send_cmd (one NVMe command to a bdev)
checked by data over NVMe/TCP, where the host's namespace bdev takes them.

Passthrough forwarded to a real NVMe namespace (QEMU's, in the guest, and
from an NVMe/TCP host there) is tests/integration/guest/test_nvme_passthru.py.
"""

import os

import pytest

from spdk_py.tools import nvmf
from spdk_py.tools.process import RpcError
from tests.integration import nvme_commands as nvme
from tests.integration.test_hybrid import iostat

BLOCK = 512
ENOTSUP, ENODEV = 95, 19
INVALID_PARAMS = -32602
MODES = ["python", "hybrid"]


@pytest.mark.parametrize("mode", MODES)
def test_not_advertised_over_a_base_without_it(py_tgt, mode):
    py_tgt.rpc("bdev_malloc_create", name="Malloc0", num_blocks=4096, block_size=BLOCK)
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0", mode=mode)
    for name in ("Malloc0", "PT0"):
        types = py_tgt.rpc("bdev_get_bdevs", name=name)[0]["supported_io_types"]
        assert not types["nvme_admin"] and not types["nvme_io"], (name, types)
    with pytest.raises(RpcError) as err:
        nvme.identify_controller(py_tgt, "PT0", method=nvme.BDEV)
    assert err.value.code == -ENOTSUP and "PT0 takes no NVMe admin commands" in err.value.message


def test_send_cmd_bad_input(py_tgt):
    py_tgt.rpc("bdev_malloc_create", name="Malloc0", num_blocks=4096, block_size=BLOCK)
    good = {"name": "Malloc0", "cmd_type": "admin", "data_direction": "c2h",
            "cmdbuf": nvme._b64(nvme.sqe(nvme.IDENTIFY, 0, 1, 0, 0)), "data_len": 4096}
    cases = [
        (dict(good, name="Nope0"), -ENODEV, "Nope0"),
        (dict(good, cmdbuf=nvme._b64(b"short")), INVALID_PARAMS, "cmdbuf must be 64 bytes"),
        (dict(good, cmdbuf="%%%"), INVALID_PARAMS, "cmdbuf is not base64url"),
        (dict(good, cmd_type="vendor"), INVALID_PARAMS, "cmd_type must be admin or io"),
        (dict(good, data_direction="both"), INVALID_PARAMS, "data_direction must be c2h or h2c"),
        (dict(good, data_direction="h2c"), INVALID_PARAMS, "data_len is for c2h"),
        (dict(good, data_len=1 << 30), INVALID_PARAMS, "the data must be 0 to"),
        ({k: v for k, v in good.items() if k != "cmdbuf"}, INVALID_PARAMS, "cmdbuf"),
    ]
    for params, code, text in cases:
        with pytest.raises(RpcError) as err:
            py_tgt.rpc_raw(nvme.BDEV, params)
        assert err.value.code == code and text in err.value.message, (params, err.value)
    assert py_tgt.rpc("spdk_py_get_objects")["waiters"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_send_cmd_over_nvme_tcp(spdk_app, py_env, mode):
    # The host's namespace bdev (Remoten1) takes NVMe passthrough: its admin
    # and I/O commands cross NVMe/TCP to the target's PT0 over Malloc0.
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)
    target.rpc("bdev_malloc_create", name="Malloc0", num_blocks=8192, block_size=BLOCK)
    target.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0", mode=mode)
    port = nvmf.free_port()
    nqn = nvmf.export(target, "PT0", port, serial="SPDKPYTCP0000001")
    host = spdk_app("spdk_tgt", env=py_env(), cpumask="0x2", mem_mb=512)
    host.rpc("bdev_nvme_attach_controller",
             **nvmf.initiator_config(port, nqn)["subsystems"][0]["config"][0]["params"])
    status, via_bdev = nvme.identify_controller(host, "Remoten1", method=nvme.BDEV)
    assert status == nvme.SUCCESS
    assert nvme.serial_and_model(via_bdev)[0] == "SPDKPYTCP0000001"
    # The same command to the controller, by SPDK's own RPC, reads the same.
    status, via_ctrlr = nvme.identify_controller(host, "Remote")
    assert status == nvme.SUCCESS and via_ctrlr == via_bdev
    # I/O commands: a pattern written, then read back, by NVMe Write and Read.
    pattern = os.urandom(8 * BLOCK)
    before = iostat(target, "PT0")["num_write_ops"]
    assert nvme.write(host, "Remoten1", 1, 64, pattern, BLOCK, method=nvme.BDEV) == nvme.SUCCESS
    assert nvme.read(host, "Remoten1", 1, 64, 8, BLOCK, method=nvme.BDEV) == pattern
    assert iostat(target, "PT0")["num_write_ops"] > before
    for proc in (target, host):
        assert proc.rpc("spdk_py_get_objects")["waiters"] == 0
