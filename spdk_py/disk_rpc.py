"""The Python disks' RPCs: bdev_python_disk_create, _delete, _resize and
_get_stats (spdk_py.disk's module, loaded in every target)."""

from __future__ import annotations

import errno
from typing import Any

from spdk_py import disk
from spdk_py._runtime import disk_registry as _registry
from spdk_py.bdev import IoType
from spdk_py.jsonrpc import INVALID_PARAMS, Request, RpcError, rpc_method

__all__ = ["rpc_bdev_python_disk_create", "rpc_bdev_python_disk_delete",
           "rpc_bdev_python_disk_resize", "rpc_bdev_python_disk_get_stats"]


@rpc_method(disk.CREATE, params={"name": str, "plugin": str, "num_blocks": int},
            optional={"block_size": int, "uuid": str, "params": dict},
            short={"name": "-b", "plugin": "-p", "num_blocks": "-n", "block_size": "-s",
                   "uuid": "-u"})
def rpc_bdev_python_disk_create(params: dict) -> str:
    """Create a bdev implemented in Python: plugin is "module:Class" (a Disk
    subclass, imported if need be); params are the plugin's own."""
    return disk.create(params["name"], params["plugin"], params["num_blocks"],
                       params.get("block_size", 512), params.get("uuid"),
                       params.get("params")).name


@rpc_method("bdev_python_disk_delete", params={"name": str}, deferred=True,
            short={"name": "-b"})
def rpc_bdev_python_disk_delete(request: Request, params: dict) -> None:
    """Delete a Python disk: its pending I/Os fail, then it is unregistered."""
    def done(future: Any) -> None:
        rc = future.result()
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "deleting %s" % params["name"])
                          .message)
        else:
            request.result(True)
    disk.delete(params["name"]).add_done_callback(done)


@rpc_method("bdev_python_disk_resize", params={"name": str, "num_blocks": int},
            short={"name": "-b", "num_blocks": "-n"})
def rpc_bdev_python_disk_resize(params: dict) -> bool:
    """Resize a Python disk; the modules above hear SPDK_BDEV_EVENT_RESIZE."""
    found = _registry.existing(params["name"])
    new, old = params["num_blocks"], found.num_blocks
    if new <= 0:
        raise RpcError(INVALID_PARAMS, "num_blocks must be above 0")
    # Storage first when it grows, the bdev first when it shrinks (SPDK
    # refuses to shrink a bdev that is open): users never see blocks that
    # are not there.
    if new >= old:
        _plugin_resize(found, new)
        rc = _registry.resize(found, new)
        if rc:
            _plugin_resize(found, old)
    else:
        rc = _registry.resize(found, new)
        if rc == 0:
            _plugin_resize(found, new)
    if rc:
        raise RpcError.from_errno(rc, "could not resize %s to %d blocks" % (found.name, new))
    found.num_blocks = new
    return True


def _plugin_resize(found: disk.Disk, num_blocks: int) -> None:
    try:
        found.resize(num_blocks)
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, "%s: %s" % (found.name, exc)) from None


@rpc_method("bdev_python_disk_get_stats", params={"name": str}, deferred=True,
            short={"name": "-b"})
def rpc_bdev_python_disk_get_stats(request: Request, params: dict) -> None:
    """A Python disk's figures: the longest a reactor waited to enter Python
    (max_stall_us; off the reactor, to hand a batch to the Python thread),
    the longest the Python thread waited for the GIL (max_python_thread_wait_us),
    I/Os timed out, I/Os pending, batches a reactor handed to the one in
    Python (handed_batches), and I/Os by type."""
    found = _registry.existing(params["name"])

    def done(future: Any) -> None:
        exc = future.exception()
        if exc is not None:
            code = getattr(exc, "errno", None) or errno.EIO
            request.error(-code, RpcError.from_errno(code, "collecting %s" % found.name).message)
            return
        stats = future.result()
        stats["python_ios"] = {IoType(t).name.lower(): n for t, n in enumerate(found.python_ios)
                               if n}
        stats["exceptions"] = found.exceptions
        request.result(stats)
    found.collect().add_done_callback(done)
