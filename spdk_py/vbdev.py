"""A virtual bdev over one base bdev, written in Python: the shape of SPDK's
passthru, crypto and delay modules. Subclass Vbdev (or the passthru port,
spdk_py.passthru.PassthruVbdev) and define the hooks you need. ::

    from spdk_py import bdev_io
    from spdk_py.bdev import IoStatus
    from spdk_py.vbdev import Vbdev

    class NoBigWrites(Vbdev):
        create_method = "bdev_nobig_create"        # what save_config writes

        def submit_write(self, io):                # Python sees writes only
            if bdev_io.num_blocks(io) * 512 > 128 * 1024:
                return IoStatus.FAILED             # completes it, failed
            return None                            # on to the base

Per-I/O hooks, all optional; each runs on the I/O's own SPDK thread, in a
batch of up to 128 I/Os per call::

    submit_<type>(io)                  one type's submission: submit_read, submit_write, ...
    submit_request(io, io_type)        every type's submission
    complete_<type>(io, status)        one type's completion: complete_read, ...
    complete_io(io, io_type, status)   every type's completion

An I/O type with no submit hook never enters Python: C forwards it to the
base. One with no completion hook completes in C with the base's status.
So a module pays for Python only where it does something.

What a hook returns says what becomes of its I/O, the same for a vbdev as
for a disk (spdk_py.disk)::

    None          it goes on: a submitted I/O to the base (a write from its bounce
                  buffer, if the hook filled one); a completed one with its status
    an IoStatus   it completes with that status now (in a completion hook: instead
                  of the base's)
    a Later       (submit hooks) the hook keeps it: ``self.later(io)``, then, from any
                  thread, ``later.done()`` sends it on to the base, ``later.done(status)``
                  or ``later.fail()`` completes it; on its own thread, exactly once. One
                  still kept after timeout_ms fails.

A hook that raises fails its I/O, with a log line naming the vbdev and the
hook (at most 10 a second); the target keeps running. Every I/O completes
exactly once. A hook's io is its handle for the length of the hook: read it
with spdk_py.bdev_io (offset_blocks, num_blocks, buffers, ...).

Hooks run on every reactor that submits I/O: with a GIL one batch at a
time in the process (the executor lock: another reactor's batch waits, or
is handed to the reactor in Python); free-threaded (3.14t), on every
reactor at once. RPC handlers, pollers and messages run on their own SPDK
threads alongside, so a handler may run while a batch does: state a hook
shares with a handler needs a lock, or one writer (set a new object, never
mutate one a hook reads); what a hook writes per I/O (counters) is per
thread (spdk_py.thread.local).

Dispatch modes: in "python" mode, every I/O of a hooked type enters Python;
in "hybrid" mode C forwards every I/O except those a policy routes to Python
(its types, and any I/O touching a block range). Each I/O keeps the mode it
was submitted in until it completes, so a vbdev switches mode under load.

The vbdevs of every module built on this live in one registry: create()
makes one over a base (or waits for the base, as SPDK's passthru does),
delete() removes it, find() looks one up; removing the base removes the
vbdev; save_config writes each vbdev's create_method with config_params().
A vbdev's close() runs once it is gone, whichever way it went.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any, Callable, Optional, Sequence

from spdk_py._runtime import vbdev_registry as _registry
from spdk_py._runtime.errors import BdevError
from spdk_py._runtime.later import Later
from spdk_py._runtime.tasks import Future
from spdk_py._runtime.vbdev import VbdevEngine
from spdk_py.bdev import IoType

__all__ = ["Vbdev", "Policy", "Later", "MODES", "create", "delete", "find", "derived_uuid"]

MODES = ("python", "hybrid")


class Policy:
    """Which I/Os a hybrid vbdev sends to Python: these types, and any I/O
    touching blocks [lba_start, lba_end). The rest stay in C."""

    def __init__(self, io_types: Sequence[str] = (), lba_start: int = 0,
                 lba_end: int = 0) -> None:
        unknown = [t for t in io_types if t.upper() not in IoType.__members__]
        if unknown:
            raise ValueError("unknown I/O type(s): %s" % ", ".join(unknown))
        if lba_end and lba_end <= lba_start:
            raise ValueError("lba_end must be above lba_start")
        self.io_types = sorted({t.lower() for t in io_types})
        self.lba_start = lba_start
        self.lba_end = lba_end

    def type_mask(self) -> int:
        return sum(1 << IoType[t.upper()] for t in self.io_types)

    def to_json(self) -> dict[str, Any]:
        return {"io_types": self.io_types, "lba_start": self.lba_start, "lba_end": self.lba_end}


class Vbdev:
    """A vbdev over one base bdev. Subclass it and define the hooks you need
    (the module's docstring); create one with spdk_py.vbdev.create()."""

    _framework = "base"  # its hooks are C's default, not Python's
    product_name = "Python vbdev"
    #: The RPC that recreates this vbdev from a saved config, with config_params().
    create_method = "bdev_python_passthru_create"
    #: The dispatch modes the class works in.
    modes: Sequence[str] = MODES
    #: Keep a latency histogram of every I/O in C (read with collect_stats).
    latency_histogram = False
    #: Whether the base's memory domains are this vbdev's too (SPDK 21.10+):
    #: true only if no hook of it reads or writes the I/O's data, since data in
    #: another domain (an RDMA NIC's, an accel engine's) is not in this
    #: process's memory. Unset, it is true when the class defines no per-I/O
    #: hook; then the bdev layer hands such a vbdev local buffers.
    memory_domains: Optional[bool] = None
    #: An I/O a hook keeps (later()) fails after this; 0: never.
    timeout_ms = 30000

    def __init__(self, name: str, mode: str = "python") -> None:
        self._engine = VbdevEngine(self, name, mode)
        self.policy = Policy()

    @property
    def name(self) -> str:
        return self._engine.name

    @property
    def mode(self) -> str:
        """"python" or "hybrid": the mode each I/O takes when it is submitted."""
        return self._engine.mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._engine.mode = mode
        _registry.remember(self.name, mode=mode)  # a re-creation keeps it

    @property
    def base_name(self) -> str:
        return self._engine.base_name

    @property
    def uuid(self) -> str:
        return _registry.bdev_uuid(self._engine.bdev)

    @property
    def exceptions(self) -> int:
        """How many times this vbdev's per-I/O hooks raised."""
        return self._engine.exceptions

    @property
    def python_ios(self) -> list[int]:
        """I/Os Python saw, by I/O type."""
        return self._engine.python_ios

    def apply_policy(self, policy: Policy) -> None:
        """Hybrid mode's routing: the I/Os that go to Python."""
        self._engine.route(policy.type_mask(), policy.lba_start, policy.lba_end)
        self.policy = policy
        _registry.remember(self.name, policy=policy)

    def later(self, io: int) -> Later:
        """Keep io past its submit hook (module docstring); return the Later."""
        return self._engine.later(io)

    def io_type_supported(self, io_type: int) -> bool:
        """Whether the vbdev advertises io_type: by default, what its base
        says, for the types C forwards."""
        return self._engine.base_supports(io_type)

    def dump_info(self) -> Optional[tuple[str, dict[str, Any]]]:
        """(key, value) written into bdev_get_bdevs' driver_specific, or None."""
        return None

    def close(self) -> None:
        """The vbdev is gone (deleted, its base removed, the app stopping; no
        hook runs again), or was never registered (its base is not there
        yet: the vbdev is made again when it comes): release what the
        constructor started, such as its asyncio tasks (cancel them) and
        connections. On the thread that unregistered it (the app thread's,
        for a delete RPC); it must not block. What it raises is logged."""

    def config_params(self) -> dict[str, Any]:
        """create_method's params that recreate this vbdev (save_config)."""
        return {"base_bdev_name": self.base_name, "name": self.name, "mode": self.mode,
                "policy": self.policy.to_json(), "stats": self._engine.counting,
                "uuid": self.uuid}

    def collect_stats(self) -> Future:
        """A Future of the per-type figures, summed over every channel: per I/O
        type name {ios, blocks, errors, latency_ticks, latency_samples,
        nomem_queued} (latency_hist too, if the class keeps a histogram);
        types with no I/O left out. Successful reads, writes and unmaps are
        the bdev layer's own count, with every I/O's latency (a zero-copy
        start counts as a read or a write there too, as in bdev_get_iostat);
        the shim counts the rest, sampling latency. It fails with
        BdevError(ENODEV) once the vbdev is being deleted."""
        return self._engine.collect_stats()


def create(base_bdev_name: str, name: str, factory: Callable[[str, str], Vbdev],
           mode: str = "python", policy: Optional[Policy] = None, stats: bool = True,
           uuid: Optional[str] = None) -> None:
    """Create vbdev name over base_bdev_name: factory(name, mode) makes it (a
    Vbdev subclass, or a functools.partial of one: hot reload remaps those).
    A base that does not exist yet is waited for: the vbdev appears when it
    does. BdevError: EEXIST for a name taken, EPERM for a base another module
    claims, ENOMEM."""
    rc = _registry.create(base_bdev_name, name, mode, factory, policy or Policy(), stats, uuid)
    if rc:
        raise BdevError(-rc, "could not create vbdev %s over %s" % (name, base_bdev_name))


def delete(name: str) -> Future:
    """Delete vbdev name (or cancel one waiting for its base); a Future of 0
    once it is gone, or -ENODEV if there is none."""
    return _registry.delete(name)


def find(name: str) -> Optional[Vbdev]:
    """The vbdev of that name, if it exists (registered: its base is there)."""
    return _registry.find_node(name)


def derived_uuid(base_uuid: str, namespace: Optional[uuid_module.UUID] = None) -> str:
    """The UUID a vbdev gets over a base with base_uuid, unless given one:
    a name-based (SHA-1) UUID under spdk_py's own namespace (or namespace),
    as SPDK's passthru derives its own (23.05+): the same at every start."""
    return _registry.derived_uuid(base_uuid, namespace or _registry.UUID_NAMESPACE)
