"""What the embedded host holds right now, for tests and for people chasing a leak."""

import sys

from spdk_py import disk, vbdev
from spdk_py._runtime import waiters
from spdk_py.jsonrpc import rpc_method


@rpc_method("spdk_py_get_objects")
def spdk_py_get_objects(params):
    """Counts of the Python objects the shim may still call into."""
    from spdk_py._runtime import host

    return {"vbdevs": len(vbdev.live), "disks": len(disk.disks),
            "waiters": len(waiters.pending()),
            "plugins": [p.__name__ for p in host.plugins],
            "python": "%d.%d.%d" % sys.version_info[:3],
            "switch_interval_s": sys.getswitchinterval()}
