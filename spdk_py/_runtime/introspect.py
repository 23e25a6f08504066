"""What the embedded host holds right now, for tests and for people chasing a leak."""

from __future__ import annotations

import sys
from types import ModuleType

from spdk_py._runtime import completion, disk_registry, executor, loop, rpc, vbdev
from spdk_py._runtime.binding import binding

# The plugin modules loaded (the host's list, set at start).
plugins: list[ModuleType] = []


def spdk_py_get_objects(params: dict) -> dict:
    """Counts of the Python objects the shim may still call into."""
    return {"vbdevs": len(vbdev.live()), "disks": len(disk_registry.disks),
            "waiters": completion.pending(),
            "loops": loop.count(),
            "plugins": [p.__name__ for p in plugins],
            "python": "%d.%d.%d" % sys.version_info[:3],
            "switch_interval_s": sys.getswitchinterval(),
            "gil": executor.gil_enabled(),
            "together": bool(binding.lib.spdk_py_together())}


rpc.define("spdk_py_get_objects", spdk_py_get_objects, None, None, rpc.RUNTIME, False, None)
