"""Hot reload of a plugin's code in a running target, under a verify workload."""

import time

import pytest

from spdk_py.tools import shim
from spdk_py.tools.process import RpcError
from tests.integration.test_hybrid import iostat, passed, perform_tests_in_background

MODULE = "xorlive"
# The XOR example under a name (and RPC names) of its own, so that the test can rewrite it.
SOURCE = (shim.ROOT / "spdk_py" / "examples" / "xor.py").read_text() \
    .replace("bdev_xor_", "bdev_xorlive_")
GENERATION = '''

class XorVbdev(XorVbdev):  # noqa: F811 (generation {n} of the class the vbdevs use)
    generation = {n}


@rpc_method("bdev_xorlive_generation", params={{"name": str}})
def bdev_xorlive_generation(params):
    """Which code the live vbdev runs."""
    return existing(params["name"], XorVbdev, "xor").generation
'''
ONLY_IN_2 = '''

@rpc_method("bdev_xorlive_new_in_2")
def bdev_xorlive_new_in_2(params):
    """A method the first code did not have."""
    return "new"
'''


def version(n):
    # The subclass keeps the name XorVbdev: the reload looks classes up by name.
    return SOURCE + GENERATION.format(n=n) + (ONLY_IN_2 if n == 2 else "")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / (MODULE + ".py")).write_text(version(1))
    return tmp_path


def config():
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create",
         "params": {"name": "Malloc0", "num_blocks": 65536, "block_size": 512}},
        {"method": "bdev_xorlive_create",
         "params": {"base_bdev_name": "Malloc0", "name": "Ex0", "key": "5a"}},
    ]}]}


def ops(target, name):
    stat = iostat(target, name)
    return stat["num_read_ops"] + stat["num_write_ops"]


@pytest.mark.parametrize("cpumask", ["0x1", "0x3"])
def test_reload_under_verify(spdk_app, py_env, plugin_dir, cpumask, executor_lock):
    perf = spdk_app("bdevperf", env=py_env("spdk_py.passthru," + MODULE), config=config(),
                    cpumask=cpumask, args=["-z", "-q", 32, "-o", 4096, "-w", "verify", "-t", 5,
                                           "-C"])
    assert perf.rpc("bdev_xorlive_generation", name="Ex0") == 1
    base_before, vbdev_before = ops(perf, "Malloc0"), ops(perf, "Ex0")
    thread, outcome = perform_tests_in_background(perf, 5)
    time.sleep(0.5)

    (plugin_dir / (MODULE + ".py")).write_text(version(2))
    result = perf.rpc("spdk_py_reload_plugin", name=MODULE)
    assert result["vbdevs"] == ["Ex0"] and "bdev_xorlive_new_in_2" in result["methods"]
    assert perf.rpc("bdev_xorlive_generation", name="Ex0") == 2
    # A method the new code brought is served at once.
    assert perf.rpc("bdev_xorlive_new_in_2") == "new"

    # New code that does not import: the error comes back, generation 2 keeps running.
    for broken, fragment in [("def broken(:\n", "SyntaxError"),
                             ("raise RuntimeError('no import today')\n", "no import today"),
                             ("del XorVbdev\n", "no Vbdev class XorVbdev")]:
        (plugin_dir / (MODULE + ".py")).write_text(version(3) + broken)
        with pytest.raises(RpcError, match="old code keeps running") as err:
            perf.rpc("spdk_py_reload_plugin", name=MODULE)
        assert fragment in err.value.message
        assert perf.rpc("bdev_xorlive_generation", name="Ex0") == 2

    # Swaps back and forth while the workload runs: each one quiesces Python's I/O.
    reloads = 0
    while thread.is_alive() and reloads < 30:
        n = 4 + reloads % 2
        (plugin_dir / (MODULE + ".py")).write_text(version(n))
        perf.rpc("spdk_py_reload_plugin", name=MODULE)
        assert perf.rpc("bdev_xorlive_generation", name="Ex0") == n
        reloads += 1
        time.sleep(0.05)
    thread.join(timeout=60)
    # verify compares each read with what was written through the transform: a
    # lost or failed I/O fails the run (or hangs it), and so would a write that
    # reached the base untransformed.
    assert passed(outcome), (outcome, perf.log_text()[-3000:])
    assert reloads >= 10
    # Nothing duplicated or lost: the base saw exactly the vbdev's I/Os.
    assert ops(perf, "Malloc0") - base_before == ops(perf, "Ex0") - vbdev_before > 10000
    # The old method is gone from the newest code.
    with pytest.raises(RpcError, match="no Python plugin loaded defines"):
        perf.rpc("bdev_xorlive_new_in_2")


def test_reload_refuses_what_it_cannot_reload(spdk_app, py_env, plugin_dir):
    target = spdk_app("spdk_tgt", env=py_env("spdk_py.passthru," + MODULE))
    for name, fragment in [("spdk_py.passthru", "part of spdk_py"),
                           ("examples.xor", "not a loaded plugin"),
                           ("", "not a loaded plugin")]:
        with pytest.raises(RpcError, match=fragment) as err:
            target.rpc("spdk_py_reload_plugin", name=name)
        assert err.value.code == -32602
    # With nothing to quiesce, a reload is immediate and the target goes on.
    assert target.rpc("spdk_py_reload_plugin", name=MODULE)["vbdevs"] == []
    assert target.rpc("spdk_py_get_objects")["plugins"] == ["spdk_py.disk", "spdk_py.passthru", MODULE]
