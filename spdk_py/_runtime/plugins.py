"""Which Python modules implement bdev modules: the same answer for the target,
the shim's build, the launcher and rpc.py."""

import os

DEFAULT = ("spdk_py.passthru",)
# Loaded whatever the configuration: Python disks are a module of spdk_py's own.
BUILTIN = ("spdk_py.disk",)


def split(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def configured():
    """The built-in modules, then SPDK_PY_PLUGINS (comma-separated module
    names), else the default ones."""
    text = os.environ.get("SPDK_PY_PLUGINS")
    chosen = split(text) if text else list(DEFAULT)
    return list(dict.fromkeys([*BUILTIN, *chosen]))
