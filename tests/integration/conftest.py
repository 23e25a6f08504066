"""Fixtures for SPDK processes that load the Python modules through the shim."""

import pytest

from spdk_py.tools import launch, shim


@pytest.fixture(scope="session")
def shim_path(spdk_install):
    return shim.build(spdk_install, quiet=True)


@pytest.fixture
def py_env(spdk_install, shim_path):
    """py_env(plugins=None, main=None) -> the environment that loads the shim into an
    SPDK app (and runs main, 'module:function', once it is up)."""
    def make(plugins=None, main=None):
        return launch.app_env(spdk_install, shim_path, plugins, base={}, main=main)
    return make


@pytest.fixture
def py_tgt(spdk_app, py_env):
    """spdk_tgt with the Python passthru loaded."""
    return spdk_app("spdk_tgt", env=py_env())
