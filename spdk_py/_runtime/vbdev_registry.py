"""Every vbdev over one base, by name: created, registered with the bdev
layer, found again, deleted; the same sequence for every such module, as
SPDK's external passthru example has it (g_bdev_names and g_pt_nodes, its
insert_name, register, examine, hot-remove and delete). A name is kept while
its base is absent, and the vbdev appears when the base does (examine).
"""

from __future__ import annotations

import errno
import hashlib
import json
import uuid
from typing import Any, Callable, Optional

from spdk_py._runtime import completion, log
from spdk_py._runtime.binding import binding
from spdk_py._runtime.tasks import Future, new_future

# A vbdev created without a uuid gets a name-based (SHA-1) UUID of its base's
# UUID under this namespace, as SPDK's passthru does under its own: the same
# base gives the same UUID at every start, and differs from SPDK's passthru's.
UUID_NAMESPACE = uuid.UUID("6c1a403d-60a3-4a4f-aa21-2541c7b17ed0")

# factory(vbdev_name, mode) -> the author's Vbdev.
Factory = Callable[[str, str], Any]


class BdevName:
    """A (vbdev, base bdev) association, kept even while the base is absent,
    with what the vbdev gets when it is created."""

    def __init__(self, vbdev_name: str, bdev_name: str, mode: str, factory: Factory,
                 policy: Any, stats: bool = True, uuid: Optional[str] = None) -> None:
        self.vbdev_name = vbdev_name
        self.bdev_name = bdev_name
        self.mode = mode
        self.factory = factory
        self.policy = policy
        self.stats = stats
        self.uuid = uuid  # None: derived from the base's


# g_bdev_names and g_pt_nodes of the reference: names, and the vbdevs made.
bdev_names: list[BdevName] = []
nodes: list[Any] = []


def derived_uuid(base_uuid: str, namespace: uuid.UUID = UUID_NAMESPACE) -> str:
    """spdk_uuid_generate_sha1(namespace, the base UUID's 16 bytes), as text."""
    digest = hashlib.sha1(namespace.bytes + uuid.UUID(base_uuid).bytes).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def bdev_uuid(bdev_ptr: Any) -> str:
    """A bdev's UUID, as text."""
    ffi, lib = binding.require()
    text = ffi.new("char[]", lib.SPDK_UUID_STRING_LEN)
    lib.spdk_py_bdev_uuid(bdev_ptr, text)
    return ffi.string(text).decode()


# vbdev_passthru_insert_name
def insert_name(bdev_name: str, vbdev_name: str, mode: str, factory: Factory, policy: Any,
                stats: bool = True, uuid: Optional[str] = None) -> int:
    if find_name(vbdev_name) is not None:
        log.error("passthru bdev %s already exists" % vbdev_name)
        return -errno.EEXIST
    bdev_names.append(BdevName(vbdev_name, bdev_name, mode, factory, policy, stats, uuid))
    return 0


# vbdev_passthru_register: create and register the vbdev for every name whose
# base is bdev_name. Called by examine and by create.
def register(bdev_name: str) -> int:
    ffi, lib = binding.require()
    rc = 0
    for name in bdev_names:
        if name.bdev_name != bdev_name:
            continue
        log.notice("Match on %s" % bdev_name)
        try:
            vb = name.factory(name.vbdev_name, name.mode)
        except Exception as exc:  # no vbdev: the name goes too (create), or stays pending
            log.error("could not make vbdev %s: %s: %s" % (name.vbdev_name,
                                                          type(exc).__name__, exc))
            rc = -errno.ENOMEM if isinstance(exc, MemoryError) else -errno.EINVAL
            break
        engine = vb._engine
        node = engine.node
        vb.apply_policy(name.policy)
        engine.counting = name.stats

        # The base bdev that we're attaching to.
        rc = lib.spdk_py_vbdev_open_base(node, bdev_name.encode())
        if rc:
            if rc != -errno.ENODEV:
                log.error("could not open bdev %s" % bdev_name)
            engine.free()
            break
        log.notice("base bdev opened")

        # The configured UUID, else one derived from the base's.
        lib.spdk_py_vbdev_set_uuid(node, (name.uuid or derived_uuid(bdev_uuid(node.base_bdev)))
                                   .encode())
        # Copy some properties from the underlying base bdev (in C).
        lib.spdk_py_vbdev_copy_properties(node)
        nodes.append(vb)

        lib.spdk_py_vbdev_io_device_register(node)
        log.notice("io_device created at: 0x%x" % int(ffi.cast("uintptr_t", node)))

        # Save the thread where the base device is opened.
        node.thread = lib.spdk_get_thread()

        rc = lib.spdk_bdev_module_claim_bdev(node.base_bdev, node.base_desc,
                                             ffi.addressof(lib.g_spdk_py_module))
        if rc:
            log.error("could not claim bdev %s" % bdev_name)
            _undo_register(vb, release_claim=False)
            break
        log.notice("bdev claimed")

        rc = lib.spdk_bdev_register(engine.bdev)
        if rc:
            log.error("could not register pt_bdev")
            # The reference releases pt_bdev here; the claim is on the base.
            _undo_register(vb, release_claim=True)
            break
        log.notice("ext_pt_bdev registered")
        log.notice("created ext_pt_bdev for: %s" % name.vbdev_name)
    return rc


def _undo_register(vb: Any, release_claim: bool) -> None:
    lib = binding.lib
    node = vb._engine.node
    if release_claim:
        lib.spdk_bdev_module_release_bdev(node.base_bdev)
    lib.spdk_py_vbdev_close_base(node)
    nodes.remove(vb)
    lib.spdk_py_vbdev_io_device_unregister(node, False)
    vb._engine.free()


# vbdev_passthru_destruct: the exact sequence of steps matters.
def destruct(vb: Any) -> int:
    lib = binding.lib
    node = vb._engine.node
    nodes.remove(vb)
    # Unclaim the underlying bdev.
    lib.spdk_bdev_module_release_bdev(node.base_bdev)
    # Close the underlying bdev on its same opened thread.
    lib.spdk_py_vbdev_close_base(node)
    # Unregister the io_device; the C node and our handle go when it is done.
    lib.spdk_py_vbdev_io_device_unregister(node, True)
    return 0


# bdev_passthru_external_create_disk
def create(bdev_name: str, vbdev_name: str, mode: str, factory: Factory, policy: Any,
           stats: bool = True, uuid: Optional[str] = None) -> int:
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


def find_name(vbdev_name: str) -> Optional[BdevName]:
    return next((n for n in bdev_names if n.vbdev_name == vbdev_name), None)


def remember(vbdev_name: str, **settings: Any) -> None:
    """A live vbdev's mode or policy changed: its re-creation (its base gone
    and back) gets the new one."""
    name = find_name(vbdev_name)
    if name is not None:
        for key, value in settings.items():
            setattr(name, key, value)


def _remove_name(vbdev_name: str) -> bool:
    name = find_name(vbdev_name)
    if name is not None:
        bdev_names.remove(name)
    return name is not None


def find_node(vbdev_name: str) -> Any:
    return next((vb for vb in nodes if vb.name == vbdev_name), None)


def unregister(vb: Any) -> Future:
    """spdk_bdev_unregister() of vb, its hooks' tasks cancelled first; a
    Future of rc once the bdev layer is done (after any stats collection in
    flight)."""
    vb._engine.hook_tasks.cancel_all("cancelled: the vbdev is being deleted")
    return completion.call(binding.lib.spdk_py_vbdev_unregister, vb._engine.node)


# bdev_passthru_external_delete_disk: a Future of rc once the bdev is gone.
def delete(vbdev_name: str) -> Future:
    vb = find_node(vbdev_name)
    # Remove the association so that the vbdev is not re-created if the same
    # base bdev shows up again; a deferred vbdev is cancelled this way.
    pending = _remove_name(vbdev_name)
    if vb is None:
        future = new_future()
        future.set_result(0 if pending else -errno.ENODEV)
        return future
    # Additional cleanup happens in the destruct callback.
    return unregister(vb)


# vbdev_passthru_examine (the shim calls examine_done).
def examine(bdev_name: str) -> None:
    register(bdev_name)


# vbdev_passthru_base_bdev_event_cb / _hotremove_cb
def base_event(event_type: int, bdev_ptr: Any) -> None:
    lib = binding.lib
    if event_type == lib.SPDK_BDEV_EVENT_RESIZE:
        # The vbdev follows its base's size; its own users hear RESIZE.
        for vb in nodes:
            if vb._engine.node.base_bdev == bdev_ptr:
                rc = lib.spdk_py_vbdev_follow_resize(vb._engine.node)
                if rc:
                    log.error("%s: could not follow its base's resize (%d)" % (vb.name, rc))
        return
    if event_type != lib.SPDK_BDEV_EVENT_REMOVE:
        log.notice("Unsupported bdev event: type %d" % event_type)
        return
    for vb in list(nodes):
        if vb._engine.node.base_bdev == bdev_ptr:
            unregister(vb)


# vbdev_passthru_config_json: methods that recreate the vbdevs on --json load.
def config_json() -> list[str]:
    return [json.dumps({"method": vb.create_method, "params": vb.config_params()})
            for vb in nodes]


# vbdev_passthru_finish
def fini() -> None:
    bdev_names.clear()
