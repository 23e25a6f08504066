"""Be the device: a bdev implemented in Python (what nbdkit's Python plugins
are, inside SPDK: served over NVMe-oF, stacked on by any SPDK module).

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
holes: no unmap).

    read(io, offset, buf)        write(io, offset, buf)     compare(io, offset, buf)
    flush(io, offset, length)    unmap(io, offset, length)  write_zeroes(io, offset, length)
    reset(io)

Every disk advertises reset, as SPDK's own bdevs do: a reset completes once
every I/O submitted before it has completed (the bdev layer submits none
while it runs), in C; then the reset hook runs, if the disk has one.

A disk without an unmap hook does not advertise unmap, and succeeds one sent
anyway without changing anything: an unmap is a hint whose blocks read back
as anything (spdk/bdev.h), and modern NVMe-oF targets (SPDK 24.01+) pass a
host's deallocate to a namespace whatever it advertises (Linux then turns
discard on from the controller's DMRSL alone). A disk that can give blocks
back, or zero them cheaply, should define unmap (and write_zeroes).

io is the I/O's handle, for `self.later(io)` within its hook (not past
it); offset and length are in bytes; buf is one writable buffer of the I/O's data
(zero-copy where the I/O has one buffer). A hook returns None (success), an
IoStatus, or the Later it took; one that raises fails its I/O (logged).

Completing later: `later = self.later(io)` inside the hook, then, from any
thread (a worker, a future's callback), `later.done()` or `later.fail()`.
The work uses `later.buffer` (the data of a write, or where a read's data
goes), never the hook's buf: the I/O completes on its own SPDK thread,
exactly once; one still pending after `timeout_ms` fails, and its late
completion is dropped (and logged).

On 2 or more reactors, a reactor that finds Python busy hands its batch to
the reactor in Python, which runs it (one stay in Python for both) and
sends it back: a hook may run on another reactor than its I/O's (the I/O
still completes on its own). A disk that routes to bases never does.

Off the reactor: a disk whose hooks hand their work to Python worker
threads (spdk_py.workers: an object store's client) sets `off_reactor =
True`. Its batches then run on spdk_py's Python thread, not on the reactor:
the workers take the GIL back before any thread waiting for it, and a
reactor behind them would wait milliseconds; the Python thread waits
instead, and the reactor polls on. Such hooks compute and take Laters
only; they call no SPDK API and submit no I/O of their own.
"""

import errno
import importlib
from array import array
import json
import uuid as uuid_module

from spdk_py import jsonrpc, log, workers
from spdk_py.bdev import IoStatus, IoType
from spdk_py._runtime.binding import binding
from spdk_py._runtime.io_errors import io_exception
from spdk_py.jsonrpc import RpcError, rpc_method
from spdk_py._runtime.waiters import finished, waiter

SUCCESS, FAILED = int(IoStatus.SUCCESS), int(IoStatus.FAILED)
HOOKS = {IoType.READ: "read", IoType.WRITE: "write", IoType.COMPARE: "compare",
         IoType.FLUSH: "flush", IoType.UNMAP: "unmap", IoType.WRITE_ZEROES: "write_zeroes",
         IoType.RESET: "reset"}
_DATA = (IoType.READ, IoType.WRITE, IoType.COMPARE)
# The same as plain ints, for the per-I/O path.
_DATA_TYPES = frozenset(int(t) for t in _DATA)
_RESET = int(IoType.RESET)
# What a disk without the hook succeeds doing nothing (module docstring).
_HINTS = frozenset((_RESET, int(IoType.UNMAP)))
_INT_SIZE = array("i").itemsize
INFO_KEY = "python_disk"
CREATE = "bdev_python_disk_create"
# A disk created without a uuid gets a name-based UUID of its name, plugin,
# size and params under this namespace: the same at every start.
UUID_NAMESPACE = uuid_module.UUID("0d9b6d5e-3f0e-4f5c-9d0a-59f1a7f0c0de")

def _addresses(array):
    """A C array of pointers as addresses: ints unpack faster than cdata."""
    return binding.ffi.cast("uintptr_t *", array)


def _note(odd, i, result):
    """A hook's result other than None, into the batch's odd statuses."""
    if result is False:
        odd[i] = FAILED
    elif result is not True and not isinstance(result, Later):
        odd[i] = int(result)


# Every disk by name, registered or being deleted.
disks = {}


class Later:
    """An I/O its hook completes later, from any thread, exactly once."""

    __slots__ = ("ticket", "disk", "buffer", "_buf")

    def __init__(self, ticket, disk, buf):
        ffi = binding.ffi
        self.ticket = ticket
        self.disk = disk
        self._buf = buf
        # The I/O's data, apart from the caller's (None for I/Os without data).
        self.buffer = None if buf == ffi.NULL else ffi.buffer(buf.data, buf.len)

    def done(self, status=SUCCESS):
        """Complete the I/O (on its own thread, soon); False if it had been
        failed already (timeout, delete): then this completion is dropped."""
        lib = binding.lib
        rc = lib.spdk_py_deferred_complete(self.ticket, int(status))
        if self._buf != binding.ffi.NULL:
            self.buffer = None
            buf, self._buf = self._buf, binding.ffi.NULL
            lib.spdk_py_later_buf_put(buf)
        if rc == -errno.ENOENT:
            log.error("%s: an I/O completed after it had failed (timeout or delete); "
                      "this completion is dropped" % self.disk.name)
            return False
        if rc:
            log.error("%s: could not send a completion to the I/O's thread (%d)"
                      % (self.disk.name, rc))
            return False
        return True

    def fail(self):
        return self.done(FAILED)

    def hand_over(self):
        """C completes this I/O from now on (spdk_py.file_io): its ticket, and
        Python's reference to its buffer (which Python touches no more)."""
        buf, self._buf, self.buffer = self._buf, binding.ffi.NULL, None
        return self.ticket, buf


class Disk:
    """Subclass, define open(params) and the hooks you need (module docstring)."""

    product_name = "Python disk"
    # A pending I/O fails after this; 0: never.
    timeout_ms = 30000
    # log2 of the buffer alignment the device needs (0: none).
    required_alignment = 0
    write_cache = False
    # Run the hooks on the Python thread, not the reactor (module docstring).
    off_reactor = False

    def __init__(self, name, num_blocks, block_size=512, params=None, plugin=None,
                 uuid=None):
        ffi, lib = binding.require()
        self.name = name
        self.num_blocks = num_blocks
        self.block_size = block_size
        self.params = dict(params or {})
        self.plugin = plugin or "%s:%s" % (type(self).__module__, type(self).__qualname__)
        self.uuid = uuid or derived_uuid(name, self.plugin, num_blocks, block_size, self.params)
        self.exceptions = 0
        self.deleting = False
        self.python_ios = [0] * lib.SPDK_PY_NUM_IO_TYPES
        self._views = {}
        self._batch = None  # (ios, n) of the batch in Python now: an io is its index
        # A batch's statuses, all SUCCESS, copied into C in one memmove.
        self._successes = array("i", [SUCCESS] * lib.SPDK_PY_BATCH).tobytes()
        self.open(self.params)
        self._handle = ffi.new_handle(self)
        self.node = lib.spdk_py_disk_alloc(name.encode(), self.product_name.encode(),
                                           self._handle)
        if self.node == ffi.NULL:
            raise MemoryError("could not allocate disk %s" % name)
        self._bind_hooks()

    # What a plugin defines.
    def open(self, params):
        """Set up the device from the create RPC's params; ValueError for bad ones."""
        if params:
            raise ValueError("%s takes no params (got %s)" % (type(self).__name__,
                                                            ", ".join(sorted(params))))

    def close(self):
        """The disk is gone: release what open() took (never blocks the reactor)."""

    def resize(self, num_blocks):
        """The device takes a new size (bdev_python_disk_resize); raise
        ValueError if it cannot. Not defined: the disk cannot be resized."""
        raise ValueError("%s cannot be resized" % type(self).__name__)

    def info(self):
        """More for bdev_get_bdevs' driver_specific.python_disk (a dict)."""
        return {}

    # The machinery.
    def later(self, io):
        """Keep io past its hook; complete it with the Later, from any thread."""
        ffi, lib = binding.ffi, binding.lib
        ios, n = self._batch or (None, 0)
        if not 0 <= io < n:
            raise RuntimeError("%s: later(io) is for an I/O in its hook" % self.name)
        buf = ffi.new("struct spdk_py_later_buf **")
        ticket = lib.spdk_py_disk_defer(ios[io], buf)
        if not ticket:
            raise RuntimeError("%s: this I/O cannot be kept (completed already, or no memory)"
                               % self.name)
        return Later(ticket, self, buf[0])

    def _bind_hooks(self):
        num_types = len(self.python_ios)
        self._hooks = [None] * num_types
        mask = 0
        for io_type, name in HOOKS.items():
            owner = next((k for k in type(self).__mro__ if name in vars(k)), None)
            hook = getattr(self, name, None)
            if owner is not None and owner is not Disk and hook is not None:
                self._hooks[io_type] = hook
                mask |= 1 << io_type
        self.node.hooks = mask
        self.node.io_types = mask | 1 << _RESET  # every disk resets (module docstring)
        self.node.timeout_us = int(self.timeout_ms * 1000)
        # A disk over bases that routes I/O to them in C (spdk_py.base_bdevs).
        self._route = getattr(self, "route", None)
        self.node.routes = self._route is not None
        self.node.off_reactor = bool(self.off_reactor)

    def io_types(self):
        """The I/O types the disk advertises."""
        mask = self.node.io_types
        return [IoType(t).name.lower() for t in range(len(self._hooks)) if mask >> t & 1]

    def run_batch(self, ios, types, offsets, nblocks, bases, lens, statuses, routes, n):
        """What C calls: a batch of I/Os, each routed to bases (a disk with a
        route hook) or to its hook; statuses, or routes, out. Each array is
        read in one call and written back in one, and only what the I/Os use
        is read: per I/O, cffi indexing or a large int costs as much as a
        hook's own work. A hook's io is its index in the batch (a small int
        costs nothing); later() finds the I/O with it."""
        ffi = binding.ffi
        unpack = ffi.unpack
        hooks, route, routed = self._hooks, self._route, None
        kinds, starts = unpack(types, n), unpack(offsets, n)
        seen, present = self.python_ios, set(kinds)
        for io_type in present:
            seen[io_type] += kinds.count(io_type)
        # What each I/O needs in one call; what only some need, indexed.
        if route is None:
            datas, sizes, counts = unpack(_addresses(bases), n), unpack(lens, n), nblocks
        else:  # route sees every count; a hook, only the I/Os left to it
            datas, sizes, counts = _addresses(bases), lens, unpack(nblocks, n)
            routed = [0] * n
        odd = {}  # index: a status other than SUCCESS
        self._batch = ios, n
        try:
            kind = kinds[0]
            if route is None and len(present) == 1 and kind in _DATA_TYPES and hooks[kind]:
                self._run_data(hooks[kind], kind, starts, datas, sizes, odd)
            else:
                self._run_mixed(kinds, starts, counts, datas, sizes, routed, odd)
        finally:
            self._batch = None
        if routed is not None:
            routes[0:n] = routed
        # Last: until here C holds every status at FAILED, should this raise.
        ffi.memmove(statuses, self._successes, n * _INT_SIZE)
        for i, status in odd.items():
            statuses[i] = status

    def _run_mixed(self, kinds, starts, counts, datas, sizes, routed, odd):
        """Each I/O to the bases route() names (routed, for a disk with a
        route hook) or to its hook."""
        hooks, bs, route, view = self._hooks, self.block_size, self._route, self._views.get
        for i in range(len(kinds)):
            io_type = kinds[i]
            if route is not None:
                try:
                    slots = route(io_type, starts[i], counts[i])
                except Exception as exc:
                    odd[i] = FAILED
                    io_exception(self, "route", io_type, exc)
                    continue
                if slots:
                    routed[i] = slots
                    continue
            hook = hooks[io_type]
            if hook is None:
                # route() left it to a hook there is not: a reset or unmap
                # then has nothing to do (module docstring).
                if io_type not in _HINTS:
                    odd[i] = FAILED
                continue
            try:
                if io_type in _DATA_TYPES:
                    address, size = datas[i], sizes[i]
                    buf = view(address)
                    if buf is None or len(buf) != size:
                        buf = self._view(address, size)
                    result = hook(i, starts[i] * bs, buf)
                elif io_type == _RESET:
                    result = hook(i)
                else:
                    result = hook(i, starts[i] * bs, counts[i] * bs)
                if result is not None:
                    _note(odd, i, result)
            except Exception as exc:
                odd[i] = FAILED
                io_exception(self, hook.__name__, io_type, exc)

    def _run_data(self, hook, kind, starts, datas, sizes, odd):
        """A batch of one type with data (all reads, say: what a workload
        sends), with nothing to decide per I/O."""
        bs, view = self.block_size, self._views.get
        for i in range(len(starts)):
            address = datas[i]
            buf = view(address)
            if buf is None or len(buf) != sizes[i]:
                buf = self._view(address, sizes[i])
            try:
                result = hook(i, starts[i] * bs, buf)
            except Exception as exc:
                odd[i] = FAILED
                io_exception(self, hook.__name__, kind, exc)
                continue
            if result is not None:
                _note(odd, i, result)

    def _view(self, address, size):
        """A buffer over an I/O's data, kept by address: an app reuses its
        buffers, and making one costs as much as a RAM disk's hook. Only an
        I/O that names the address again uses it, for as long as its hook
        runs (a hook that keeps data past that copies it, or takes a Later)."""
        if len(self._views) >= 4096:
            self._views.clear()
        ffi = binding.ffi
        buf = self._views[address] = ffi.buffer(ffi.cast("void *", address), size)
        return buf

    def config_params(self):
        return {"name": self.name, "plugin": self.plugin, "num_blocks": self.num_blocks,
                "block_size": self.block_size, "uuid": self.uuid, "params": self.params}

    def config_entry(self):
        """What save_config writes to create this disk again (a module with an
        RPC of its own writes that one)."""
        return {"method": CREATE, "params": self.config_params()}

    # What the shim's fn_table calls (through _runtime/host.py).
    def destruct(self):
        binding.lib.spdk_py_disk_io_device_unregister(self.node)
        return 0

    def released(self):
        """C's call: the disk is gone; its C struct is freed when this returns."""
        disks.pop(self.name, None)
        try:
            self.close()
        except Exception as exc:
            log.error("%s: close raised %r" % (self.name, exc))
        self.node = None  # what still runs (a base's late event) must not touch it

    def dump_info(self):
        info = {"plugin": self.plugin, "params": self.params, "timeout_ms": self.timeout_ms,
                "io_types": self.io_types(), "off_reactor": bool(self.off_reactor)}
        info.update(self.info() or {})
        return INFO_KEY, info

    def collect(self, done):
        """done(rc, {max_stall_us, max_python_thread_wait_us, timed_out,
        pending, handed_batches}), read on every channel."""
        ffi, lib = binding.ffi, binding.lib
        stats = ffi.new("struct spdk_py_disk_stats *")

        def collected(rc):
            us = 1e6 / lib.spdk_get_ticks_hz()
            done(rc, {"max_stall_us": stats.stall_ticks * us,
                      "max_python_thread_wait_us": stats.python_wait_ticks * us,
                      "timed_out": stats.timed_out, "pending": stats.pending,
                      "handed_batches": stats.handed_batches})
        cb_arg = waiter(collected)
        rc = lib.spdk_py_disk_collect(self.node, stats, cb_arg)
        if rc:
            finished(int(ffi.cast("uintptr_t", cb_arg)), rc)


def derived_uuid(name, plugin, num_blocks, block_size, params):
    text = json.dumps([name, plugin, num_blocks, block_size, params], sort_keys=True)
    return str(uuid_module.uuid5(UUID_NAMESPACE, text))


def load_plugin(spec):
    """The Disk subclass "module:Class" names (the module imported if need be)."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise RpcError(jsonrpc.INVALID_PARAMS, "plugin must be \"module:Class\", not %r" % spec)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise RpcError(jsonrpc.INVALID_PARAMS, "plugin %s: cannot import %s: %s: %s"
                       % (spec, module_name, type(exc).__name__, exc)) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Disk)):
        raise RpcError(jsonrpc.INVALID_PARAMS, "plugin %s: %s has no Disk subclass %s"
                       % (spec, module_name, class_name))
    return cls


def create(name, plugin, num_blocks, block_size=512, uuid=None, params=None):
    """Create and register a disk; RpcError naming the problem."""
    from spdk_py.passthru import _check_bdev_name, _check_uuid

    ffi, lib = binding.require()
    _check_bdev_name("name", name)
    if num_blocks <= 0:
        raise RpcError(jsonrpc.INVALID_PARAMS, "num_blocks must be above 0")
    if block_size < 512 or block_size & (block_size - 1):
        raise RpcError(jsonrpc.INVALID_PARAMS, "block_size must be a power of 2, 512 or more")
    if name in disks or lib.spdk_bdev_get_by_name(name.encode()) != ffi.NULL:
        raise RpcError.from_errno(-errno.EEXIST, "bdev %s exists already" % name)
    cls = load_plugin(plugin)
    try:
        disk = cls(name, num_blocks, block_size, params, plugin, _check_uuid(uuid))
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise RpcError(jsonrpc.INVALID_PARAMS, "plugin %s: bad params: %s" % (plugin, exc)) \
            from None
    if not disk.node.hooks:
        _discard(disk)
        raise RpcError(jsonrpc.INVALID_PARAMS, "plugin %s defines no I/O hook" % plugin)
    if disk.off_reactor and disk.node.routes:
        _discard(disk)
        raise RpcError(jsonrpc.INVALID_PARAMS, "plugin %s routes I/O to its bases on the "
                       "reactor: it cannot run off the reactor" % plugin)
    if disk.off_reactor:
        cores = sorted(workers.worker_cores())
        rc = lib.spdk_py_python_thread_start(cores, len(cores))
        if rc:
            _discard(disk)
            raise RpcError.from_errno(rc, "cannot start the Python thread for %s" % name)
    rc = lib.spdk_py_disk_set_geometry(disk.node, block_size, num_blocks,
                                       disk.required_alignment, disk.write_cache,
                                       disk.uuid.encode())
    if rc == 0:
        disks[name] = disk
        rc = lib.spdk_py_disk_register(disk.node)
        if rc:
            disks.pop(name, None)
    if rc:
        _discard(disk)
        raise RpcError.from_errno(rc, "could not register disk %s" % name)
    log.notice("disk %s: %s, %d blocks of %d bytes" % (name, plugin, num_blocks, block_size))
    return disk


def _discard(disk):
    """A disk that was never registered: its plugin closed, its C struct freed."""
    disk.close()
    binding.lib.spdk_py_disk_free(disk.node)
    disk.node = None


def existing(name):
    disk = disks.get(name)
    if disk is None:
        raise RpcError.from_errno(-errno.ENODEV, "no Python disk named %s" % name)
    return disk


def delete(name, done):
    """Fail what is pending, unregister; done(rc) when the bdev is gone."""
    disk = existing(name)
    if disk.deleting:
        raise RpcError.from_errno(-errno.EBUSY, "%s is being deleted" % name)
    disk.deleting = True
    binding.lib.spdk_py_disk_unregister(disk.node, waiter(done))


# Module hooks the host calls.
def config_json():
    return [json.dumps(disk.config_entry()) for disk in disks.values()]


@rpc_method(CREATE, params={"name": str, "plugin": str, "num_blocks": int},
            optional={"block_size": int, "uuid": str, "params": dict},
            short={"name": "-b", "plugin": "-p", "num_blocks": "-n", "block_size": "-s",
                   "uuid": "-u"})
def rpc_bdev_python_disk_create(params):
    """Create a bdev implemented in Python: plugin is "module:Class" (a Disk
    subclass, imported if need be); params are the plugin's own."""
    return create(params["name"], params["plugin"], params["num_blocks"],
                  params.get("block_size", 512), params.get("uuid"), params.get("params"))\
        .name


@rpc_method("bdev_python_disk_delete", params={"name": str}, deferred=True,
            short={"name": "-b"})
def rpc_bdev_python_disk_delete(request, params):
    """Delete a Python disk: its pending I/Os fail, then it is unregistered."""
    def done(rc):
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "deleting %s" % params["name"])
                          .message)
        else:
            request.result(True)
    delete(params["name"], done)


@rpc_method("bdev_python_disk_resize", params={"name": str, "num_blocks": int},
            short={"name": "-b", "num_blocks": "-n"})
def rpc_bdev_python_disk_resize(params):
    """Resize a Python disk; the modules above hear SPDK_BDEV_EVENT_RESIZE."""
    disk = existing(params["name"])
    new, old = params["num_blocks"], disk.num_blocks
    if new <= 0:
        raise RpcError(jsonrpc.INVALID_PARAMS, "num_blocks must be above 0")
    lib = binding.lib
    # Storage first when it grows, the bdev first when it shrinks (SPDK
    # refuses to shrink a bdev that is open): users never see blocks that
    # are not there.
    if new >= old:
        _plugin_resize(disk, new)
        rc = lib.spdk_py_disk_resize(disk.node, new)
        if rc:
            _plugin_resize(disk, old)
    else:
        rc = lib.spdk_py_disk_resize(disk.node, new)
        if rc == 0:
            _plugin_resize(disk, new)
    if rc:
        raise RpcError.from_errno(rc, "could not resize %s to %d blocks" % (disk.name, new))
    disk.num_blocks = new
    return True


def _plugin_resize(disk, num_blocks):
    try:
        disk.resize(num_blocks)
    except ValueError as exc:
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s: %s" % (disk.name, exc)) from None


@rpc_method("bdev_python_disk_get_stats", params={"name": str}, deferred=True,
            short={"name": "-b"})
def rpc_bdev_python_disk_get_stats(request, params):
    """A Python disk's figures: the longest a reactor waited to enter Python
    (max_stall_us; off the reactor, to hand a batch to the Python thread),
    the longest the Python thread waited for the GIL (max_python_thread_wait_us),
    I/Os timed out, I/Os pending, batches a reactor handed to the one in
    Python (handed_batches), and I/Os by type."""
    disk = existing(params["name"])

    def done(rc, stats):
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "collecting %s" % disk.name).message)
            return
        stats["python_ios"] = {IoType(t).name.lower(): n for t, n in enumerate(disk.python_ios)
                               if n}
        stats["exceptions"] = disk.exceptions
        request.result(stats)
    disk.collect(done)
