"""Which Python modules are loaded as plugins: the same answer for the
target, the shim's build, the launcher and rpc.py.

A plugin is a module named in SPDK_PY_PLUGINS (comma-separated). Loading it
loads its RPC module too, `<name>_rpc`, where there is one (SPDK's
module / module_rpc split): naming spdk_py.passthru serves the passthru's
RPCs. A plugin module may define init(), fini(), examine(bdev_name),
config_json() (JSON texts of methods that recreate its state) and
base_event(type, bdev): the host calls each plugin's.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType

DEFAULT = ("spdk_py.passthru",)
# Loaded whatever the configuration: Python disks are a module of spdk_py's own.
BUILTIN = ("spdk_py.disk",)
# spdk_py's own RPC modules that are no bdev module: loaded too, not listed as plugins.
SERVICES = ("spdk_py.nvme_cmd",)


def split(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def configured() -> list[str]:
    """The built-in modules, then SPDK_PY_PLUGINS, else the default ones."""
    text = os.environ.get("SPDK_PY_PLUGINS")
    chosen = split(text) if text else list(DEFAULT)
    return list(dict.fromkeys([*BUILTIN, *chosen]))


def import_plugin(name: str) -> ModuleType:
    """Import module name, and its RPC module if it has one."""
    module = importlib.import_module(name)
    rpc_name = name + "_rpc"
    try:
        found = importlib.util.find_spec(rpc_name) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        importlib.import_module(rpc_name)
    return module
