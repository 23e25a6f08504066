"""The Python passthru's control path in a real spdk_tgt: RPCs, examine, hot-remove, config."""

import json
import os
import sys

import pytest

from spdk_py.tools.process import RpcError, rpc_py

ENODEV, EEXIST = 19, 17
INVALID_PARAMS = -32602


def malloc(target, name, blocks=2048):
    target.rpc("bdev_malloc_create", name=name, num_blocks=blocks, block_size=512)


def bdev_names(target):
    return sorted(b["name"] for b in target.rpc("bdev_get_bdevs"))


def get_bdev(target, name):
    return target.rpc("bdev_get_bdevs", name=name)[0]


@pytest.mark.parametrize("create,delete", [
    ("construct_ext_passthru_bdev", "delete_ext_passthru_bdev"),
    ("bdev_python_passthru_create", "bdev_python_passthru_delete"),
])
def test_create_and_delete(spdk_install, py_tgt, create, delete):
    malloc(py_tgt, "Malloc0")
    assert py_tgt.rpc(create, base_bdev_name="Malloc0", name="PT0") == "PT0"

    pt = get_bdev(py_tgt, "PT0")
    base = get_bdev(py_tgt, "Malloc0")
    assert pt["driver_specific"]["python_passthru"] == {
        "name": "PT0", "base_bdev_name": "Malloc0", "mode": "python",
        "policy": {"io_types": [], "lba_start": 0, "lba_end": 0}}
    assert pt["product_name"] == "passthru"
    assert (pt["block_size"], pt["num_blocks"]) == (base["block_size"], base["num_blocks"])
    assert base["claimed"] is True
    # Only the types it forwards, and only those the base has: COMPARE from
    # SPDK 24.05 (before it, the bdev layer compares, reading through the vbdev).
    expected = dict(base["supported_io_types"])
    if "compare" in expected and not spdk_install.at_least(24, 5):
        expected["compare"] = False
    assert pt["supported_io_types"] == expected

    assert py_tgt.rpc(delete, name="PT0") is True
    assert bdev_names(py_tgt) == ["Malloc0"]
    assert get_bdev(py_tgt, "Malloc0")["claimed"] is False


def test_duplicate_name_is_eexist(py_tgt):
    malloc(py_tgt, "Malloc0")
    malloc(py_tgt, "Malloc1")
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0")
    with pytest.raises(RpcError) as err:
        py_tgt.rpc("construct_ext_passthru_bdev", base_bdev_name="Malloc1", name="PT0")
    assert err.value.code == -EEXIST
    assert "PT0" in err.value.message
    assert bdev_names(py_tgt) == ["Malloc0", "Malloc1", "PT0"]
    assert get_bdev(py_tgt, "Malloc1")["claimed"] is False


def test_name_of_another_modules_bdev_is_refused(py_tgt):
    malloc(py_tgt, "Malloc0")
    malloc(py_tgt, "Malloc1")
    with pytest.raises(RpcError) as err:
        py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="Malloc1")
    assert err.value.code == -EEXIST
    # Nothing left behind: the base is not claimed and no name waits for it.
    assert get_bdev(py_tgt, "Malloc0")["claimed"] is False
    py_tgt.rpc("bdev_malloc_delete", name="Malloc0")
    malloc(py_tgt, "Malloc0")
    assert bdev_names(py_tgt) == ["Malloc0", "Malloc1"]


@pytest.mark.parametrize("delete", ["delete_ext_passthru_bdev", "bdev_python_passthru_delete"])
def test_delete_unknown_is_enodev(py_tgt, delete):
    malloc(py_tgt, "Malloc0")
    for name in ("Nope", "Malloc0"):
        with pytest.raises(RpcError) as err:
            py_tgt.rpc(delete, name=name)
        assert err.value.code == -ENODEV
        assert name in err.value.message
    assert bdev_names(py_tgt) == ["Malloc0"]


@pytest.mark.parametrize("params,fragment", [
    ({"name": "PT0"}, "missing required parameter(s): base_bdev_name"),
    ({"base_bdev_name": "Malloc0", "name": 5}, "name must be a string"),
    ({"base_bdev_name": "Malloc0", "name": "PT0", "mode": "turbo"}, "unknown mode 'turbo'"),
    ({"base_bdev_name": "Malloc0", "name": "PT0", "size": 1}, "unknown parameter(s): size"),
    ({"base_bdev_name": "", "name": "PT0"}, "base_bdev_name must not be empty"),
    (None, "missing required parameter(s)"),
])
def test_bad_params_are_invalid_params(py_tgt, params, fragment):
    malloc(py_tgt, "Malloc0")
    with pytest.raises(RpcError) as err:
        py_tgt.rpc_raw("bdev_python_passthru_create", params)
    assert err.value.code == INVALID_PARAMS
    assert fragment in err.value.message
    assert bdev_names(py_tgt) == ["Malloc0"]


def test_deferred_creation_and_examine(py_tgt):
    # The base does not exist yet: creation succeeds and waits for it.
    assert py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Later", name="PT0") == "PT0"
    assert bdev_names(py_tgt) == []
    malloc(py_tgt, "Later")
    assert bdev_names(py_tgt) == ["Later", "PT0"]
    assert get_bdev(py_tgt, "PT0")["driver_specific"]["python_passthru"]["base_bdev_name"] == "Later"


def test_deleting_a_deferred_vbdev_cancels_it(py_tgt):
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Later", name="PT0")
    assert py_tgt.rpc("bdev_python_passthru_delete", name="PT0") is True
    malloc(py_tgt, "Later")
    assert bdev_names(py_tgt) == ["Later"]


def test_hot_remove_of_base_removes_vbdev_and_base_return_recreates_it(py_tgt):
    malloc(py_tgt, "Malloc0")
    py_tgt.rpc("bdev_python_passthru_create", base_bdev_name="Malloc0", name="PT0")
    py_tgt.rpc("bdev_malloc_delete", name="Malloc0")
    assert bdev_names(py_tgt) == []
    # As in the reference, the association outlives a hot-remove.
    malloc(py_tgt, "Malloc0")
    assert bdev_names(py_tgt) == ["Malloc0", "PT0"]


# The SPDK tree's own scripts/rpc.py, and the modern one the PyPI spdk package installs.
RPC_CLIENTS = {"spdk-scripts-rpc.py": (),
               "pypi-spdk-rpc": [os.path.join(os.path.dirname(sys.executable), "spdk-rpc")]}


@pytest.mark.parametrize("client", RPC_CLIENTS)
def test_rpc_py_plugin(spdk_install, py_tgt, client):
    def run(*args):
        return rpc_py(spdk_install, py_tgt.rpc_socket, *args, client=RPC_CLIENTS[client])

    malloc(py_tgt, "Malloc0")
    help_text = run("bdev_python_passthru_create", "-h")
    assert help_text.returncode == 0, help_text.stderr
    assert "--base-bdev-name" in help_text.stdout

    created = run("bdev_python_passthru_create", "-b", "Malloc0", "-p", "PT0")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) == "PT0"
    assert bdev_names(py_tgt) == ["Malloc0", "PT0"]

    dup = run("construct_ext_passthru_bdev", "-b", "Malloc0", "-p", "PT0")
    assert dup.returncode != 0
    assert "File exists" in dup.stdout + dup.stderr

    deleted = run("delete_ext_passthru_bdev", "-p", "PT0")
    assert deleted.returncode == 0, deleted.stderr
    assert bdev_names(py_tgt) == ["Malloc0"]


def test_save_config_then_restart_recreates(spdk_install, spdk_app, py_env, tmp_path):
    first = spdk_app("spdk_tgt", env=py_env())
    malloc(first, "Malloc0")
    first.rpc("construct_ext_passthru_bdev", base_bdev_name="Malloc0", name="PT0")
    saved = rpc_py(spdk_install, first.rpc_socket, "save_config")
    assert saved.returncode == 0, saved.stderr
    config = json.loads(saved.stdout)
    bdev_methods = [e["method"] for s in config["subsystems"] if s["subsystem"] == "bdev"
                    for e in s["config"]]
    assert "bdev_python_passthru_create" in bdev_methods
    assert first.stop() == 0

    path = tmp_path / "saved.json"
    path.write_text(json.dumps(config))
    second = spdk_app("spdk_tgt", env=py_env(), config=str(path))
    assert bdev_names(second) == ["Malloc0", "PT0"]
    assert get_bdev(second, "PT0")["driver_specific"]["python_passthru"]["base_bdev_name"] == "Malloc0"
