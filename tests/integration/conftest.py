"""Fixtures for SPDK processes that load the Python modules through the shim."""

import pytest

from spdk_py.tools import launch, shim


@pytest.fixture(scope="session")
def shim_path(spdk_install):
    return shim.build(spdk_install, quiet=True)


@pytest.fixture(params=["on", "off"])
def executor_lock(request):
    """For a test of Python on two reactors: SPDK_PY_EXECUTOR_LOCK, on (one
    reactor's batch in Python at a time) or off (reactors run their batches
    together, a free-threaded CPython's way; on a GIL build the GIL alone
    serializes them, so CI runs that path's code too). py_env sets it."""
    return request.param


@pytest.fixture
def py_env(spdk_install, shim_path, request):
    """py_env(plugins=None, main=None) -> the environment that loads the shim into an
    SPDK app (and runs main, 'module:function', once it is up)."""
    lock = (request.getfixturevalue("executor_lock")
            if "executor_lock" in request.fixturenames else None)

    def make(plugins=None, main=None):
        env = launch.app_env(spdk_install, shim_path, plugins, base={}, main=main)
        if lock is not None:
            env["SPDK_PY_EXECUTOR_LOCK"] = lock
        return env
    return make


def runs_together(target, executor_lock):
    """The target's reactors run Python as the setting says (off: together)."""
    objects = target.rpc("spdk_py_get_objects")
    return objects["together"] == (executor_lock == "off")


@pytest.fixture
def py_tgt(spdk_app, py_env):
    """spdk_tgt with the Python passthru loaded."""
    return spdk_app("spdk_tgt", env=py_env())
