"""The passthru vbdev in Python: a port of SPDK's external passthru example.

Each function says which function of the reference (vbdev_passthru.c) it
ports. The logic is here; the SPDK calls that touch an I/O's fields are the
shim's one-line helpers, so an I/O crosses into Python as a handle and a type.
"""

import errno
import hashlib
import json
import uuid

from spdk_py import jsonrpc, log
from spdk_py.bdev import BdevEvent, IoType
from spdk_py._runtime.binding import binding
from spdk_py._runtime.io_errors import io_exception
from spdk_py.jsonrpc import RpcError, rpc_method
from spdk_py.vbdev import Vbdev, unregister

MODES = ("python", "hybrid")
INFO_KEY = "python_passthru"
# A vbdev created without a uuid gets a name-based (SHA-1) UUID of its base's
# UUID under this namespace, as SPDK's passthru does under its own: the same
# base gives the same UUID at every start, and differs from SPDK's passthru's.
UUID_NAMESPACE = uuid.UUID("6c1a403d-60a3-4a4f-aa21-2541c7b17ed0")


def derived_uuid(base_uuid, namespace=UUID_NAMESPACE):
    """spdk_uuid_generate_sha1(namespace, the base UUID's 16 bytes), as text."""
    digest = hashlib.sha1(namespace.bytes + uuid.UUID(base_uuid).bytes).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


class Policy:
    """Which I/Os a hybrid vbdev sends to Python: these types, and any I/O
    touching blocks [lba_start, lba_end). The rest stay in C."""

    def __init__(self, io_types=(), lba_start=0, lba_end=0):
        unknown = [t for t in io_types if t.upper() not in IoType.__members__]
        if unknown:
            raise ValueError("unknown I/O type(s): %s" % ", ".join(unknown))
        if lba_end and lba_end <= lba_start:
            raise ValueError("lba_end must be above lba_start")
        self.io_types = sorted({t.lower() for t in io_types})
        self.lba_start = lba_start
        self.lba_end = lba_end

    def type_mask(self):
        return sum(1 << IoType[t.upper()] for t in self.io_types)

    def to_json(self):
        return {"io_types": self.io_types, "lba_start": self.lba_start, "lba_end": self.lba_end}


class BdevName:
    """A (vbdev, base bdev) association, kept even while the base is absent,
    with the mode and policy the vbdev gets when it is created.

    factory makes the vbdev object (PassthruVbdev or a subclass a plugin passes).
    """

    def __init__(self, vbdev_name, bdev_name, mode, factory, policy=None, stats=True, uuid=None):
        self.vbdev_name = vbdev_name
        self.bdev_name = bdev_name
        self.mode = mode
        self.factory = factory
        self.policy = policy or Policy()
        self.stats = stats
        self.uuid = uuid  # None: derived from the base's


# g_bdev_names and g_pt_nodes of the reference.
bdev_names = []
pt_nodes = []


class PassthruVbdev(Vbdev):
    product_name = "passthru"
    # The RPC that recreates this vbdev from a saved config.
    create_method = "bdev_python_passthru_create"
    # The modes this class works in.
    modes = MODES
    # The port never touches the data: any memory domain the base takes is ours.
    memory_domains = True

    def __init__(self, name, mode):
        super().__init__(name)
        self.mode = mode
        self.policy = Policy()

    # A subclass gets C's plain passthru for the hooks it does not define: it
    # inherits none of this class's Python forwarding, which is python mode's.
    def plain_classes(self):
        return (Vbdev,) if type(self) is PassthruVbdev else (Vbdev, PassthruVbdev)

    def bind_hooks(self):
        super().bind_hooks()
        lib = binding.lib
        # The I/O types this module forwards, with the base call for each.
        # READ first gets a buffer it owns (pt_read_get_buf_cb, run in C).
        self._forward = {
            IoType.READ: lib.spdk_py_base_read,
            IoType.WRITE: lib.spdk_py_base_write,
            IoType.WRITE_ZEROES: lib.spdk_py_base_write_zeroes,
            IoType.UNMAP: lib.spdk_py_base_unmap,
            IoType.FLUSH: lib.spdk_py_base_flush,
            IoType.RESET: lib.spdk_py_base_reset,
            IoType.ZCOPY: lib.spdk_py_base_zcopy,
            IoType.ABORT: lib.spdk_py_base_abort,
            # NVMe passthrough, advertised where the base takes it.
            IoType.NVME_ADMIN: lib.spdk_py_base_nvme_admin,
            IoType.NVME_IO: lib.spdk_py_base_nvme_io,
            IoType.NVME_IO_MD: lib.spdk_py_base_nvme_io_md,
        }
        # Where the SPDK has them (see plugin_shim/spdk_compat.h).
        if lib.SPDK_PY_FORWARDS_COMPARE:
            self._forward[IoType.COMPARE] = lib.spdk_py_base_compare
        if lib.SPDK_PY_HAVE_COPY:
            self._forward[IoType.COPY] = lib.spdk_py_base_copy
        if lib.SPDK_PY_HAVE_NVME_IOV_MD:
            self._forward[IoType.NVME_IOV_MD] = lib.spdk_py_base_nvme_iov_md
        # The same, indexed by type, for the batch loop.
        self._forward_by_type = [self._forward.get(t) for t in range(max(self._forward) + 1)]
        # The port's forwarding (this class, or a subclass that takes it as its
        # submit_request): every I/O in one loop, with the lookups hoisted.
        if type(self).submit_request is PassthruVbdev.submit_request and self._submit_generic:
            self.submit_batch = self._submit_batch_fast

    # The mode lives in C, where each I/O reads it when it is submitted.
    @property
    def mode(self):
        return "hybrid" if self.node.mode == binding.lib.SPDK_PY_MODE_HYBRID else "python"

    @mode.setter
    def mode(self, mode):
        lib = binding.lib
        self.node.mode = lib.SPDK_PY_MODE_HYBRID if mode == "hybrid" else lib.SPDK_PY_MODE_PYTHON

    def apply_policy(self, policy):
        node = self.node
        # Types off first: no I/O sees the new range with the old types.
        node.route_types = 0
        node.route_lba_start, node.route_lba_end = policy.lba_start, policy.lba_end
        node.route_types = policy.type_mask()
        self.policy = policy

    @property
    def base_name(self):
        return binding.ffi.string(binding.lib.spdk_bdev_get_name(self.node.base_bdev)).decode()

    @property
    def uuid(self):
        return bdev_uuid(self.bdev)

    # vbdev_passthru_submit_request: Python sees every I/O (python mode).
    def submit_request(self, ch, io, io_type):
        return self.forward(io, io_type)

    def forward(self, io, io_type):
        """Forward the I/O to the base as the passthru does; returns 0 or what
        the base said (after queueing it on -ENOMEM)."""
        forward = self._forward.get(io_type)
        if forward is None:
            log.error("passthru: unknown I/O type %d" % io_type)
            return -errno.EINVAL
        rc = forward(io)
        return self._submitted(io, rc) if rc else 0

    # submit_request for a whole batch, with the lookups hoisted out of the loop.
    def _submit_batch_fast(self, ch, ios, types, n):
        forward_by_type = self._forward_by_type
        known = len(forward_by_type)
        seen = self.python_ios
        for i in range(n):
            io_type = types[i]
            seen[io_type] += 1
            forward = forward_by_type[io_type] if io_type < known else None
            try:
                if forward is None:
                    log.error("passthru: unknown I/O type %d" % io_type)
                    continue
                rc = forward(ios[i])
                if rc:
                    self._submitted(ios[i], rc)
            except Exception as exc:
                io_exception(self, "submit_request", io_type, exc)

    # The tail of submit: -ENOMEM is queued until the base frees a bdev_io
    # (vbdev_passthru_queue_io); any other error fails the I/O (C does that).
    def _submitted(self, io, rc):
        if rc == -errno.ENOMEM:
            log.error("No memory, start to queue io for passthru.")
            queued = binding.lib.spdk_py_io_queue(io)
            if queued:
                log.error("Queue io failed in vbdev_passthru_queue_io, rc=%d." % queued)
            return queued
        log.error("ERROR on bdev_io submission!")
        return rc

    # vbdev_passthru_io_type_supported: the base's answer, but only for types
    # this module forwards: advertising one it cannot forward fails every such I/O.
    def io_type_supported(self, io_type):
        if io_type not in self._forward:
            return False
        return binding.lib.spdk_bdev_io_type_supported(self.node.base_bdev, io_type)

    # vbdev_passthru_dump_info_json
    def dump_info(self):
        return INFO_KEY, {"name": self.name, "base_bdev_name": self.base_name, "mode": self.mode,
                          "policy": self.policy.to_json()}

    # vbdev_passthru_destruct: the exact sequence of steps matters.
    def destruct(self):
        lib = binding.lib
        pt_nodes.remove(self)
        # Unclaim the underlying bdev.
        lib.spdk_bdev_module_release_bdev(self.node.base_bdev)
        # Close the underlying bdev on its same opened thread.
        lib.spdk_py_vbdev_close_base(self.node)
        # Unregister the io_device; the C node and our handle go when it is done.
        lib.spdk_py_vbdev_io_device_unregister(self.node, True)
        return 0


    def config_params(self):
        return {"base_bdev_name": self.base_name, "name": self.name, "mode": self.mode,
                "policy": self.policy.to_json(), "stats": bool(self.node.count_stats),
                "uuid": self.uuid}


def bdev_uuid(bdev_ptr):
    """A bdev's UUID, as text."""
    ffi, lib = binding.require()
    text = ffi.new("char[]", lib.SPDK_UUID_STRING_LEN)
    lib.spdk_py_bdev_uuid(bdev_ptr, text)
    return ffi.string(text).decode()


# vbdev_passthru_insert_name
def insert_name(bdev_name, vbdev_name, mode, factory, policy=None, stats=True, uuid=None):
    for name in bdev_names:
        if name.vbdev_name == vbdev_name:
            log.error("passthru bdev %s already exists" % vbdev_name)
            return -errno.EEXIST
    bdev_names.append(BdevName(vbdev_name, bdev_name, mode, factory, policy, stats, uuid))
    return 0


# vbdev_passthru_register: create and register the vbdev for every name whose
# base is bdev_name. Called by examine and by the create RPC.
def register(bdev_name):
    ffi, lib = binding.require()
    rc = 0
    for name in bdev_names:
        if name.bdev_name != bdev_name:
            continue
        log.notice("Match on %s" % bdev_name)
        try:
            pt_node = name.factory(name.vbdev_name, name.mode)
        except MemoryError:
            log.error("could not allocate pt_node")
            rc = -errno.ENOMEM
            break
        node = pt_node.node
        pt_node.apply_policy(name.policy)
        node.count_stats = name.stats

        # The base bdev that we're attaching to.
        rc = lib.spdk_py_vbdev_open_base(node, bdev_name.encode())
        if rc:
            if rc != -errno.ENODEV:
                log.error("could not open bdev %s" % bdev_name)
            pt_node.free()
            break
        log.notice("base bdev opened")

        # The configured UUID, else one derived from the base's.
        lib.spdk_py_vbdev_set_uuid(node, (name.uuid or derived_uuid(bdev_uuid(node.base_bdev)))
                                   .encode())
        # Copy some properties from the underlying base bdev (in C).
        lib.spdk_py_vbdev_copy_properties(node)
        pt_nodes.append(pt_node)

        lib.spdk_py_vbdev_io_device_register(node)
        log.notice("io_device created at: 0x%x" % int(ffi.cast("uintptr_t", node)))

        # Save the thread where the base device is opened.
        node.thread = lib.spdk_get_thread()

        rc = lib.spdk_bdev_module_claim_bdev(node.base_bdev, node.base_desc,
                                             ffi.addressof(lib.g_spdk_py_module))
        if rc:
            log.error("could not claim bdev %s" % bdev_name)
            _undo_register(pt_node, release_claim=False)
            break
        log.notice("bdev claimed")

        rc = lib.spdk_bdev_register(pt_node.bdev)
        if rc:
            log.error("could not register pt_bdev")
            # The reference releases pt_bdev here; the claim is on the base.
            _undo_register(pt_node, release_claim=True)
            break
        log.notice("ext_pt_bdev registered")
        log.notice("created ext_pt_bdev for: %s" % name.vbdev_name)
    return rc


def _undo_register(pt_node, release_claim):
    lib = binding.lib
    if release_claim:
        lib.spdk_bdev_module_release_bdev(pt_node.node.base_bdev)
    lib.spdk_py_vbdev_close_base(pt_node.node)
    pt_nodes.remove(pt_node)
    lib.spdk_py_vbdev_io_device_unregister(pt_node.node, False)
    pt_node.free()


# bdev_passthru_external_create_disk
def create_disk(bdev_name, vbdev_name, mode="python", factory=PassthruVbdev, policy=None,
                stats=True, uuid=None):
    rc = insert_name(bdev_name, vbdev_name, mode, factory, policy, stats, uuid)
    if rc:
        return rc
    rc = register(bdev_name)
    if rc == -errno.ENODEV:
        # Not an error: the name is kept and the vbdev appears with its base.
        log.notice("vbdev creation deferred pending base bdev arrival")
        rc = 0
    elif rc:
        # Unlike the reference, a failed create leaves no name behind to
        # resurrect the vbdev later.
        _remove_name(vbdev_name)
    return rc


def find_name(vbdev_name):
    for name in bdev_names:
        if name.vbdev_name == vbdev_name:
            return name
    return None


def _remove_name(vbdev_name):
    name = find_name(vbdev_name)
    if name is not None:
        bdev_names.remove(name)
    return name is not None


def find_node(vbdev_name):
    for pt_node in pt_nodes:
        if pt_node.name == vbdev_name:
            return pt_node
    return None


# bdev_passthru_external_delete_disk; done(rc) runs once the bdev is gone.
def delete_disk(vbdev_name, done):
    pt_node = find_node(vbdev_name)
    # Remove the association so that the vbdev is not re-created if the same
    # base bdev shows up again; a deferred vbdev is cancelled this way.
    pending = _remove_name(vbdev_name)
    if pt_node is None:
        done(0 if pending else -errno.ENODEV)
        return
    # Additional cleanup happens in the destruct callback.
    unregister(pt_node, done)


# vbdev_passthru_examine (the shim calls examine_done).
def examine(bdev_name):
    register(bdev_name)


# vbdev_passthru_base_bdev_event_cb / _hotremove_cb
def base_event(event_type, bdev_ptr):
    if event_type == BdevEvent.RESIZE:
        # The vbdev follows its base's size; its own users hear RESIZE.
        for pt_node in pt_nodes:
            if pt_node.node.base_bdev == bdev_ptr:
                rc = binding.lib.spdk_py_vbdev_follow_resize(pt_node.node)
                if rc:
                    log.error("%s: could not follow its base's resize (%d)" % (pt_node.name, rc))
        return
    if event_type != BdevEvent.REMOVE:
        log.notice("Unsupported bdev event: type %d" % event_type)
        return
    for pt_node in list(pt_nodes):
        if pt_node.node.base_bdev == bdev_ptr:
            unregister(pt_node, lambda rc: None)


# vbdev_passthru_config_json: methods that recreate the vbdevs on --json load.
def config_json():
    return [json.dumps({"method": pt_node.create_method, "params": pt_node.config_params()})
            for pt_node in pt_nodes]


# vbdev_passthru_finish
def fini():
    bdev_names.clear()


# The RPCs: the reference's names, and the modern-style names with a mode.

def create_from_rpc(params, factory=PassthruVbdev):
    """The create RPCs' body, for this module's and for plugins' subclasses."""
    mode = params.get("mode", "python")
    _check_mode(mode)
    for key in ("name", "base_bdev_name"):
        _check_bdev_name(key, params[key])
    policy = _decode_policy(params.get("policy", {}))
    rc = create_disk(params["base_bdev_name"], params["name"], mode, factory, policy,
                     params.get("stats", True), _check_uuid(params.get("uuid")))
    if rc:
        detail = "could not create passthru bdev %s on %s" % (params["name"],
                                                             params["base_bdev_name"])
        if rc == -errno.EPERM:
            detail += ": the base bdev is already claimed by another module"
        raise RpcError.from_errno(rc, detail)
    return params["name"]


NAME_MAX = 255


def _check_bdev_name(key, value):
    if not value:
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s must not be empty" % key)
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > NAME_MAX:
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s is too long (%d bytes, at most %d)"
                       % (key, size, NAME_MAX))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s must not contain control characters" % key)


def _check_uuid(text):
    """The uuid param in SPDK's spelling (lower case), or None if not given."""
    if text is None:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise RpcError(jsonrpc.INVALID_PARAMS, "uuid %r is not a UUID" % text) from None


def _check_mode(mode):
    if mode not in MODES:
        raise RpcError(jsonrpc.INVALID_PARAMS, "unknown mode %r: must be one of %s"
                       % (mode, ", ".join(MODES)))


def _decode_policy(params):
    if not isinstance(params, dict):
        raise RpcError(jsonrpc.INVALID_PARAMS, "policy must be an object")
    extra = set(params) - {"io_types", "lba_start", "lba_end"}
    if extra:
        raise RpcError(jsonrpc.INVALID_PARAMS, "unknown policy field(s): %s (accepted: "
                       "io_types, lba_start, lba_end)" % ", ".join(sorted(extra)))
    io_types = params.get("io_types", [])
    lba = [params.get("lba_start", 0), params.get("lba_end", 0)]
    if not (isinstance(io_types, list) and all(isinstance(t, str) for t in io_types)):
        raise RpcError(jsonrpc.INVALID_PARAMS, "policy.io_types must be an array of strings")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in lba):
        raise RpcError(jsonrpc.INVALID_PARAMS, "policy.lba_start/lba_end must be integers >= 0")
    try:
        return Policy(io_types, *lba)
    except ValueError as exc:
        raise RpcError(jsonrpc.INVALID_PARAMS, "policy: %s" % exc) from None


def existing(name, cls=None, kind="python passthru"):
    """The vbdev of that name (of class cls), or the RPC error -ENODEV."""
    pt_node = find_node(name)
    if pt_node is None or not isinstance(pt_node, cls or PassthruVbdev):
        raise RpcError.from_errno(-errno.ENODEV, "no %s bdev named %s" % (kind, name))
    return pt_node


def delete_from_rpc(request, params):
    """The delete RPCs' body (deferred: answers when the bdev is gone)."""
    name = params["name"]

    def done(rc):
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "no python passthru bdev named %s"
                                                        % name).message)
        else:
            request.result(True)
    delete_disk(name, done)


_CREATE_PARAMS = {"base_bdev_name": str, "name": str}
# rpc.py flags, as SPDK's own passthru commands spell them.
_SHORT = {"base_bdev_name": "-b", "name": "-p", "mode": "-m", "uuid": "-u"}


@rpc_method("construct_ext_passthru_bdev", params=_CREATE_PARAMS, short=_SHORT)
def rpc_construct_ext_passthru_bdev(params):
    """Create a passthru bdev on a base bdev (the reference example's RPC)."""
    return create_from_rpc(params)


@rpc_method("delete_ext_passthru_bdev", params={"name": str}, deferred=True, short=_SHORT)
def rpc_delete_ext_passthru_bdev(request, params):
    """Delete a passthru bdev (the reference example's RPC)."""
    delete_from_rpc(request, params)


@rpc_method("bdev_python_passthru_create", params=_CREATE_PARAMS,
            optional={"mode": str, "policy": dict, "stats": bool, "uuid": str}, short=_SHORT)
def rpc_bdev_python_passthru_create(params):
    """Create a Python passthru bdev on a base bdev; mode: python (default) or hybrid.

    policy (hybrid): {"io_types": [...], "lba_start": N, "lba_end": M} names the I/Os
    that go to Python; the rest are forwarded in C. stats: false turns the
    per-I/O-type counters off (they are on by default). uuid: the vbdev's UUID
    (default: derived from the base's, the same at every start).
    """
    return create_from_rpc(params)


@rpc_method("bdev_python_passthru_delete", params={"name": str}, deferred=True,
            short=_SHORT)
def rpc_bdev_python_passthru_delete(request, params):
    """Delete a Python passthru bdev."""
    delete_from_rpc(request, params)


@rpc_method("bdev_python_passthru_set_mode", params={"name": str, "mode": str}, short=_SHORT)
def rpc_bdev_python_passthru_set_mode(params):
    """Switch a Python passthru bdev between python and hybrid, live.

    Each I/O keeps the path it was submitted on, so nothing needs to stop.
    """
    _check_mode(params["mode"])
    pt_node = existing(params["name"])
    if params["mode"] not in pt_node.modes:
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s (%s) works in %s mode only"
                       % (pt_node.name, pt_node.product_name, " or ".join(pt_node.modes)))
    pt_node.mode = params["mode"]
    find_name(params["name"]).mode = params["mode"]
    return True


@rpc_method("bdev_python_passthru_set_policy", params={"name": str},
            optional={"io_types": list, "lba_start": int, "lba_end": int}, short=_SHORT)
def rpc_bdev_python_passthru_set_policy(params):
    """Choose the I/Os a hybrid Python passthru bdev sends to Python (types, block range)."""
    name = params.pop("name")
    policy = _decode_policy(params)
    existing(name).apply_policy(policy)
    find_name(name).policy = policy
    return True


@rpc_method("bdev_python_passthru_get_stats", params={"name": str}, deferred=True,
            short=_SHORT)
def rpc_bdev_python_passthru_get_stats(request, params):
    """Per-I/O-type counters of a Python passthru bdev, summed over its channels."""
    pt_node = existing(params["name"])
    tick_rate = binding.lib.spdk_get_ticks_hz()

    def collected(rc, stats):
        if rc == -errno.ENODEV:
            request.error(rc, "%s is being deleted" % pt_node.name)
            return
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "collecting stats").message)
            return
        for stat in stats.values():
            stat["avg_latency_us"] = (stat["latency_ticks"] * 1e6 / tick_rate
                                      / max(stat["latency_samples"], 1))
        for io_type, seen in enumerate(pt_node.python_ios):
            if seen:
                stats.setdefault(IoType(io_type).name.lower(), {})["python_ios"] = seen
        request.result({"name": pt_node.name, "mode": pt_node.mode,
                        "policy": pt_node.policy.to_json(), "tick_rate": tick_rate,
                        "io_types": stats})
    pt_node.collect_stats(collected)
