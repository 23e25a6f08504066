"""Be the device: a bdev implemented in Python (what nbdkit's Python plugins
are, inside SPDK: served over NVMe-oF, stacked on by any SPDK module). ::

    from spdk_py.disk import Disk

    class RamDisk(Disk):
        def open(self, params):                  # bad params: raise ValueError
            self.data = bytearray(self.num_blocks * self.block_size)

        def read(self, io, offset, buf):         # fill buf (the I/O's own memory)
            buf[:] = self.data[offset:offset + len(buf)]

        def write(self, io, offset, buf):
            self.data[offset:offset + len(buf)] = buf

    # bdev_python_disk_create {"name": "PyDisk0", "plugin": "mymod:RamDisk",
    #                          "num_blocks": 131072}

Hooks, all optional; an I/O type is advertised exactly when its hook is
defined (as nbdkit's can_* follow from the functions a plugin has), and the
bdev layer emulates what it can (write_zeroes with writes). A hook set to
None in open() is not defined for that disk (a file system that cannot punch
holes: no unmap). ::

    read(io, offset, buf)        write(io, offset, buf)     compare(io, offset, buf)
    flush(io, offset, length)    unmap(io, offset, length)  write_zeroes(io, offset, length)
    reset(io)

io is the I/O's handle, for ``self.later(io)`` within its hook (not past
it); offset and length are in bytes; buf is one writable buffer of the I/O's data
(zero-copy where the I/O has one buffer). What a hook returns says what
becomes of its I/O, as for a vbdev's hooks (spdk_py.vbdev): None, it
succeeds; an IoStatus, it completes with it; the Later it took, it completes
later. A hook that raises fails its I/O (logged); the target keeps running.

Every disk advertises reset, as SPDK's own bdevs do: a reset completes once
every I/O submitted before it has completed (the bdev layer submits none
while it runs), in C; then the reset hook runs, if the disk has one.

A disk without an unmap hook does not advertise unmap, and succeeds one sent
anyway without changing anything: an unmap is a hint whose blocks read back
as anything (spdk/bdev.h), and modern NVMe-oF targets (SPDK 24.01+) pass a
host's deallocate to a namespace whatever it advertises (Linux then turns
discard on from the controller's DMRSL alone). A disk that can give blocks
back, or zero them cheaply, should define unmap (and write_zeroes).

Completing later: ``later = self.later(io)`` inside the hook, then, from any
thread (a worker, a future's callback), ``later.done()`` or ``later.fail()``.
The work uses ``later.buffer`` (the data of a write, or where a read's data
goes), never the hook's buf: the I/O completes on its own SPDK thread,
exactly once; one still pending after ``timeout_ms`` fails, and its late
completion is dropped (and logged).

Which thread runs a hook: the I/O's own reactor. With a GIL, on 2 or more
reactors, one batch runs at a time in the process, and a reactor that finds
Python busy hands its batch to the one in Python (it comes back by message):
a hook may then run on another reactor than its I/O's (the I/O still
completes on its own); a disk that routes to bases never hands its batches
over. Free-threaded (3.14t), every reactor runs its own batches at once: the
same hook runs on several reactors together. Either way an RPC handler, a
poller or a message may run at the same time as a batch: keep per-I/O state
per thread (spdk_py.thread.local) and share only what hooks read (the
manual's Threads page, "Reactors in Python together").

Off the reactor: a disk whose hooks hand their work to Python worker
threads (spdk_py.workers: an object store's client) sets ``off_reactor =
True``. Its batches then run on spdk_py's Python thread, not on the reactor:
the workers take the GIL back before any thread waiting for it, and a
reactor behind them would wait milliseconds; the Python thread waits
instead, and the reactor polls on. Such hooks compute and take Laters
only; they call no SPDK API and submit no I/O of their own.
"""

from __future__ import annotations

import errno
import importlib
from typing import Any, Optional

from spdk_py._runtime import disk_registry as _registry
from spdk_py._runtime.disk import DiskEngine
from spdk_py._runtime.later import Later
from spdk_py._runtime.tasks import Future
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, check_bdev_name, check_uuid

__all__ = ["Disk", "Later", "create", "delete", "find", "load_plugin", "CREATE"]

CREATE = _registry.CREATE


class Disk:
    """Subclass, define open(params) and the hooks you need (module docstring)."""

    _framework = "base"  # not a hook of its own
    product_name = "Python disk"
    #: A pending I/O fails after this; 0: never.
    timeout_ms = 30000
    #: log2 of the buffer alignment the device needs (0: none).
    required_alignment = 0
    write_cache = False
    #: Run the hooks on the Python thread, not the reactor (module docstring).
    off_reactor = False

    def __init__(self, name: str, num_blocks: int, block_size: int = 512,
                 params: Optional[dict] = None, plugin: Optional[str] = None,
                 uuid: Optional[str] = None) -> None:
        self.name = name
        self.num_blocks = num_blocks
        self.block_size = block_size
        self.params = dict(params or {})
        self.plugin = plugin or "%s:%s" % (type(self).__module__, type(self).__qualname__)
        self.uuid = uuid or _registry.derived_uuid(name, self.plugin, num_blocks, block_size,
                                                   self.params)
        self.open(self.params)
        self._engine = DiskEngine(self)

    # What a plugin defines.
    def open(self, params: dict) -> None:
        """Set up the device from the create RPC's params; ValueError for bad ones."""
        if params:
            raise ValueError("%s takes no params (got %s)" % (type(self).__name__,
                                                            ", ".join(sorted(params))))

    def close(self) -> None:
        """The disk is gone: release what open() took (never blocks the reactor)."""

    def resize(self, num_blocks: int) -> None:
        """The device takes a new size (bdev_python_disk_resize); raise
        ValueError if it cannot. Not defined: the disk cannot be resized."""
        raise ValueError("%s cannot be resized" % type(self).__name__)

    def info(self) -> dict[str, Any]:
        """More for bdev_get_bdevs' driver_specific.python_disk."""
        return {}

    # For the hooks.
    def later(self, io: int) -> Later:
        """Keep io past its hook; complete it with the Later, from any thread."""
        return self._engine.later(io)

    @property
    def deleting(self) -> bool:
        """The disk is being deleted: its pending I/Os fail, new ones too."""
        return self._engine.deleting

    @property
    def exceptions(self) -> int:
        """How many times a hook raised."""
        return self._engine.exceptions

    @property
    def python_ios(self) -> list[int]:
        """I/Os the hooks saw, by I/O type."""
        return self._engine.python_ios

    def io_types(self) -> list[str]:
        """The I/O types the disk advertises."""
        return self._engine.io_types()

    def collect(self) -> Future:
        """A Future of the disk's figures over every channel: max_stall_us
        (a reactor's longest wait to enter Python; off the reactor, to hand a
        batch over), max_python_thread_wait_us, timed_out, pending,
        handed_batches."""
        return self._engine.collect()

    # What save_config writes.
    def config_params(self) -> dict[str, Any]:
        return {"name": self.name, "plugin": self.plugin, "num_blocks": self.num_blocks,
                "block_size": self.block_size, "uuid": self.uuid, "params": self.params}

    def config_entry(self) -> dict[str, Any]:
        """What save_config writes to create this disk again (a module with an
        RPC of its own writes that one)."""
        return {"method": CREATE, "params": self.config_params()}


def load_plugin(spec: str) -> type[Disk]:
    """The Disk subclass "module:Class" names (the module imported if need be)."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise RpcError(INVALID_PARAMS, "plugin must be \"module:Class\", not %r" % spec)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise RpcError(INVALID_PARAMS, "plugin %s: cannot import %s: %s: %s"
                       % (spec, module_name, type(exc).__name__, exc)) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Disk)):
        raise RpcError(INVALID_PARAMS, "plugin %s: %s has no Disk subclass %s"
                       % (spec, module_name, class_name))
    return cls


def create(name: str, plugin: str, num_blocks: int, block_size: int = 512,
           uuid: Optional[str] = None, params: Optional[dict] = None) -> Disk:
    """Create and register a disk of plugin ("module:Class"); RpcError naming
    the problem (bad params -32602, a name taken -EEXIST)."""
    check_bdev_name("name", name)
    if num_blocks <= 0:
        raise RpcError(INVALID_PARAMS, "num_blocks must be above 0")
    if block_size < 512 or block_size & (block_size - 1):
        raise RpcError(INVALID_PARAMS, "block_size must be a power of 2, 512 or more")
    if _registry.exists(name):
        raise RpcError.from_errno(-errno.EEXIST, "bdev %s exists already" % name)
    cls = load_plugin(plugin)
    try:
        disk = cls(name, num_blocks, block_size, params, plugin, check_uuid(uuid))
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise RpcError(INVALID_PARAMS, "plugin %s: bad params: %s" % (plugin, exc)) from None
    _registry.register(disk)
    return disk


def delete(name: str) -> Future:
    """Delete a disk: its pending I/Os fail, then it is unregistered; a
    Future of 0 once it is gone (RpcError now if there is no such disk)."""
    return _registry.delete(name)


def find(name: str) -> Optional[Disk]:
    """The disk of that name, if there is one."""
    return _registry.find(name)
