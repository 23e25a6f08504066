"""The vbdev's UUID: the one given, or one derived from its base's, the same at
every start; NVMe-oF hosts identify the namespace by it."""

import json
import uuid

import pytest

from spdk_py import vbdev
from spdk_py.tools import nvmf
from spdk_py.tools.process import RpcError, rpc_py

# Bases with UUIDs of their own that do not change, as a real NVMe namespace's.
BASE_UUIDS = {"Malloc0": "0e9d0c4e-6a43-4a37-9c9e-3a4fb2e0c0a1",
              "Malloc1": "5b1f7a0c-2d6e-4c8b-8f3a-71c2d9e4b6f5"}
GIVEN = "A3C6F1D2-0B4E-4F5A-9C8D-7E6F5A4B3C2D"
# SPDK's own passthru's namespace (module/bdev/passthru/vbdev_passthru.c).
SPDK_PASSTHRU_NAMESPACE = uuid.UUID("7e25812e-c8c0-4d3f-8599-16d790555b85")


def malloc(target, name):
    target.rpc("bdev_malloc_create", name=name, num_blocks=2048, block_size=512,
               uuid=BASE_UUIDS[name])


def save_config(target, path):
    """SPDK's rpc.py save_config (the method is rpc.py's, over framework_get_config)."""
    saved = rpc_py(target.install, target.rpc_socket, "save_config")
    assert saved.returncode == 0, saved.stderr
    path.write_text(saved.stdout)
    return json.loads(saved.stdout)


def bdev_uuid(target, name):
    return target.rpc("bdev_get_bdevs", name=name)[0]["uuid"]


def test_derived_given_and_checked(py_tgt):
    # Created before its base exists: the UUID is derived when it appears.
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0")
    malloc(py_tgt, "Malloc0")
    assert bdev_uuid(py_tgt, "PT0") == vbdev.derived_uuid(BASE_UUIDS["Malloc0"])
    assert bdev_uuid(py_tgt, "PT0") != BASE_UUIDS["Malloc0"]
    malloc(py_tgt, "Malloc1")
    with pytest.raises(RpcError) as err:
        py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc1", name="PT1",
                   uuid="not-a-uuid")
    assert err.value.code == -32602 and "not a UUID" in err.value.message
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc1", name="PT1", uuid=GIVEN)
    assert bdev_uuid(py_tgt, "PT1") == GIVEN.lower()
    # Deleted and created again: the same derived UUID.
    py_tgt.rpc("bdev_python_passthru_delete", name="PT0")
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0")
    assert bdev_uuid(py_tgt, "PT0") == vbdev.derived_uuid(BASE_UUIDS["Malloc0"])


def test_survives_save_config_and_restart(spdk_app, py_env, tmp_path):
    first = spdk_app("spdk_tgt", env=py_env())
    for name in BASE_UUIDS:
        malloc(first, name)
    first.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0", mode="hybrid")
    first.rpc("bdev_python_passthru_create", base_bdev_name="Malloc1", name="PT1", uuid=GIVEN)
    before = {name: bdev_uuid(first, name) for name in ("PT0", "PT1")}
    path = tmp_path / "config.json"
    config = save_config(first, path)
    saved = [e["params"] for s in config["subsystems"] if s["subsystem"] == "bdev"
             for e in s["config"] if e["method"] == "bdev_python_passthru_create"]
    assert sorted(p["uuid"] for p in saved) == sorted(before.values())
    assert first.stop() == 0

    second = spdk_app("spdk_tgt", env=py_env(), config=str(path))
    assert {name: bdev_uuid(second, name) for name in before} == before
    assert before["PT1"] == GIVEN.lower()


def test_nvmf_namespace_keeps_its_uuid_across_a_restart(spdk_app, py_env, tmp_path):
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512)
    malloc(target, "Malloc0")
    target.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0")
    port = nvmf.free_port()
    nqn = nvmf.export(target, "PT0", port)
    attach = nvmf.initiator_config(port, nqn)["subsystems"][0]["config"][0]["params"]
    host = spdk_app("spdk_tgt", cpumask="0x2", mem_mb=512)

    def namespace_uuid():
        host.rpc("bdev_nvme_attach_controller", **attach)
        seen = bdev_uuid(host, "Remoten1")
        host.rpc("bdev_nvme_detach_controller", name="Remote")
        return seen

    first = namespace_uuid()
    assert first == bdev_uuid(target, "PT0") == vbdev.derived_uuid(BASE_UUIDS["Malloc0"])
    path = tmp_path / "target.json"
    save_config(target, path)
    assert target.stop() == 0
    target = spdk_app("spdk_tgt", env=py_env(), cpumask="0x1", mem_mb=512, config=str(path))
    assert namespace_uuid() == first


def test_derived_as_spdks_own_passthru_derives(spdk_install, py_tgt):
    if not spdk_install.at_least(23, 5):
        pytest.skip("SPDK %s's passthru derives no UUID (spdk_uuid_generate_sha1 came in 23.05)"
                    % spdk_install.version_string)
    malloc(py_tgt, "Malloc0")
    py_tgt.rpc("bdev_passthru_create", base_bdev_name="Malloc0", name="CPT0")
    assert bdev_uuid(py_tgt, "CPT0") == vbdev.derived_uuid(BASE_UUIDS["Malloc0"],
                                                              SPDK_PASSTHRU_NAMESPACE)
