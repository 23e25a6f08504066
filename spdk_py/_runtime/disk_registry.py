"""Every Python disk, by name: created and registered with the bdev layer,
resized, deleted (pending I/Os failed first), written back by save_config."""

from __future__ import annotations

import errno
import json
import uuid as uuid_module
from typing import Any, Optional

from spdk_py._runtime import completion, log
from spdk_py._runtime.binding import binding
from spdk_py._runtime.cores import worker_cores
from spdk_py._runtime.disk import DiskEngine
from spdk_py._runtime.errors import RpcError
from spdk_py._runtime.rpc import INVALID_PARAMS
from spdk_py._runtime.tasks import Future

CREATE = "bdev_python_disk_create"
# A disk created without a uuid gets a name-based UUID of its name, plugin,
# size and params under this namespace: the same at every start.
UUID_NAMESPACE = uuid_module.UUID("0d9b6d5e-3f0e-4f5c-9d0a-59f1a7f0c0de")

# Every disk (its author's object) by name, registered or being deleted.
disks: dict[str, Any] = {}


def derived_uuid(name: str, plugin: str, num_blocks: int, block_size: int, params: dict) -> str:
    text = json.dumps([name, plugin, num_blocks, block_size, params], sort_keys=True)
    return str(uuid_module.uuid5(UUID_NAMESPACE, text))


def exists(name: str) -> bool:
    ffi, lib = binding.require()
    return name in disks or lib.spdk_bdev_get_by_name(name.encode()) != ffi.NULL


def register(disk: Any) -> None:
    """Register a disk its class has made (spdk_py.disk.create); RpcError
    naming the problem, with the disk closed and its C struct freed."""
    engine = disk._engine
    lib = binding.lib
    if not engine.node.hooks:
        _discard(disk)
        raise RpcError(INVALID_PARAMS, "plugin %s defines no I/O hook" % disk.plugin)
    if disk.off_reactor and engine.node.async_hooks:
        _discard(disk)
        raise RpcError(INVALID_PARAMS, "plugin %s has async hooks: they run on the reactor "
                       "(off_reactor is for hooks that hand work to worker threads)" % disk.plugin)
    if disk.off_reactor and engine.node.routes:
        _discard(disk)
        raise RpcError(INVALID_PARAMS, "plugin %s routes I/O to its bases on the "
                       "reactor: it cannot run off the reactor" % disk.plugin)
    if disk.off_reactor:
        cores = sorted(worker_cores())
        rc = lib.spdk_py_python_thread_start(cores, len(cores))
        if rc:
            _discard(disk)
            raise RpcError.from_errno(rc, "cannot start the Python thread for %s" % disk.name)
    rc = lib.spdk_py_disk_set_geometry(engine.node, disk.block_size, disk.num_blocks,
                                       disk.required_alignment, disk.write_cache,
                                       disk.uuid.encode())
    if rc == 0:
        disks[disk.name] = disk
        engine.on_destruct = lambda engine: _close(disk)
        engine.on_released = lambda engine: disks.pop(disk.name, None)
        rc = lib.spdk_py_disk_register(engine.node)
        if rc:
            disks.pop(disk.name, None)
    if rc:
        _discard(disk)
        raise RpcError.from_errno(rc, "could not register disk %s" % disk.name)
    log.notice("disk %s: %s, %d blocks of %d bytes" % (disk.name, disk.plugin, disk.num_blocks,
                                                      disk.block_size))


def _close(disk: Any) -> None:
    try:
        disk.close()
    except Exception as exc:
        log.error("%s: close raised %r" % (disk.name, exc))


def _discard(disk: Any) -> None:
    """A disk that was never registered: its plugin closed, its C struct freed."""
    _close(disk)
    disk._engine.discard()


def find(name: str) -> Optional[Any]:
    return disks.get(name)


def existing(name: str) -> Any:
    disk = disks.get(name)
    if disk is None:
        raise RpcError.from_errno(-errno.ENODEV, "no Python disk named %s" % name)
    return disk


def delete(name: str) -> Future:
    """Fail what is pending, unregister; a Future of rc once the bdev is gone."""
    disk = existing(name)
    engine = disk._engine
    if engine.deleting:
        raise RpcError.from_errno(-errno.EBUSY, "%s is being deleted" % name)
    engine.deleting = True
    engine.hook_tasks.cancel_all("cancelled: the disk is being deleted")
    return completion.call(binding.lib.spdk_py_disk_unregister, engine.node)


def resize(disk: Any, num_blocks: int) -> int:
    """The bdev's new size (its users hear RESIZE); 0 or a negative errno."""
    return binding.lib.spdk_py_disk_resize(disk._engine.node, num_blocks)


def shutdown() -> None:
    """The app stops: every disk's pending I/Os fail now."""
    for disk in disks.values():
        disk._engine.shutdown()


def config_json() -> list[str]:
    return [json.dumps(disk.config_entry()) for disk in disks.values()]
