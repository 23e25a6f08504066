"""Which Python modules implement bdev modules: the same answer for the target,
the shim's build, the launcher and rpc.py."""

import os

DEFAULT = ("spdk_py.passthru",)


def split(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def configured():
    """SPDK_PY_PLUGINS (comma-separated module names), else the built-in ones."""
    text = os.environ.get("SPDK_PY_PLUGINS")
    return split(text) if text else list(DEFAULT)
