"""A disk over several bases: a Python disk (spdk_py.disk) whose I/O goes to
base bdevs it opened and claimed, as SPDK's raid, crypto and compress modules
sit on theirs. ::

    from spdk_py.base_bdevs import MultiBaseDisk

    class Striped(MultiBaseDisk):
        def read(self, io, offset, buf):
            later = self.later(io)                    # the parent I/O, completed later
            base = self.bases[(offset // STRIPE) % len(self.bases)]
            self.child(base, "read_blocks", offset // self.block_size,
                       len(later.buffer) // self.block_size, later.buffer,
                       lambda status: later.done() if status == 0 else later.fail())
            return later

Each base is a BaseBdev: a claimed descriptor (spdk_py.bdev_desc) with one
I/O channel per SPDK thread, made where a hook first uses it. Child I/Os
complete on the parent's thread; the parent completes once, through its
Later, whatever the children do (and fails at the disk's timeout if they
never come back). A base's removal reaches base_event(base, event) on the app
thread: the default marks it failed, and the vbdev goes on without it
(degraded) instead of disappearing; its descriptor closes once its I/Os are
back. The vbdev's bases are released when it is deleted.

Routing in C, for speed: a MultiBaseDisk that defines route(io_type,
offset_blocks, num_blocks) returns, per I/O, the bases to send it to as a
mask of their slots (1 << base.slot), or 0 for its hook to do it. C then
sends the children on the I/O's own buffers, as SPDK's raid1 does: a read to
one of those bases (round robin; one that fails is retried on the next),
anything else to all of them; the parent succeeds if a child did. A base that
fails a routed child fails at once for every thread and reaches
child_failed(base, status) soon after, on the I/O's thread. route runs in the
disk's batch, once per I/O: keep it to a lookup (examples/mirror.py keeps a
table by I/O type, rebuilt in bases_changed()).
"""

from __future__ import annotations

import errno
import threading
from typing import Any, Callable, Iterable, Optional

from spdk_py import log, thread
from spdk_py._runtime import base_bdevs as _routing
from spdk_py.bdev import BdevEvent, IoType
from spdk_py.bdev_desc import BdevDesc
from spdk_py.disk import Disk
from spdk_py.errors import BdevError
from spdk_py.io_channel import IoChannel

__all__ = ["MultiBaseDisk", "BaseBdev", "ONLINE", "RESYNCING", "FAILED"]

ONLINE, RESYNCING, FAILED = "online", "resyncing", "failed"


class BaseBdev:
    """One base of a MultiBaseDisk: its claimed descriptor and state."""

    def __init__(self, owner: "MultiBaseDisk", name: str, slot: int, state: str = ONLINE) -> None:
        self.owner = owner
        self.name = name
        self.slot = slot  # its bit in a route's mask
        self._state = state
        self.errors = 0  # (under the owner's lock)
        self._ios = thread.local(lambda: [0])  # children sent from Python, per thread
        self.desc = BdevDesc.open(name, claim=True,
                                  on_event=lambda desc, event: owner._event(self, event))
        # What it does, read while it is open: a removed base is asked later.
        self.io_types = frozenset(t for t in IoType if self.desc.supports(t))

    @property
    def ios(self) -> int:
        """Children sent from Python, on every thread (C counts its own)."""
        return sum(n[0] for n in self._ios.values())

    def count_io(self) -> None:
        self._ios.get()[0] += 1

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        with self.owner._state_lock:
            self._state = state
            self.owner._bases_changed()

    @property
    def usable(self) -> bool:
        """Takes I/O: online, or being brought online, and open."""
        return self.state != FAILED and not self.desc.closed

    def supports(self, io_type: int) -> bool:
        """Whether the base does io_type (as it said when it was opened)."""
        return io_type in self.io_types

    def channel(self) -> IoChannel:
        """This thread's I/O channel of the base."""
        return self.desc.channel()

    def fail(self, why: str, removed: bool = False) -> None:
        """Send the base no more I/O. A failed I/O is an error; a removal (its
        bdev deleted, its device gone) a notice, as SPDK's raid logs one."""
        with self.owner._state_lock:  # (reactors' children fail at once)
            if self.state == FAILED:
                return
            say = log.notice if removed else log.error
            say("%s: base bdev %s %s: going on without it"
                % (self.owner.name, self.name, "removed" if removed else "failed (%s)" % why))
            _routing.fail_base(self.owner._routing_engine(), self.slot)
            self.state = FAILED

    def close(self) -> None:
        if not self.desc.closed:
            self.owner._bases_changed()  # before its channels close: C forgets them
            self.desc.close()

    def info(self) -> dict[str, Any]:
        channels = list(self.desc.channels.values())
        routed = _routing.routed_ios(self.owner._routing_engine(), self.slot)
        return {"name": self.name, "state": self.state, "ios": self.ios + routed,
                "routed_ios": routed, "errors": self.errors,
                # Times a child I/O waited for a bdev_io (the pool ran dry).
                "nomem_waits": sum(ch.stats()["nomem_waits"] for ch in channels
                                   if ch.ptr is not None)}


class MultiBaseDisk(Disk):
    """A Disk over base bdevs: params {"base_bdevs": [names]} opens and claims
    each (ValueError if one is missing, claimed elsewhere, or of another block
    size, or smaller than the vbdev)."""

    product_name = "Python multi-base vbdev"

    _framework = "base"  # its methods are not I/O hooks
    bases: list[BaseBdev]

    def open(self, params: dict) -> None:
        params = dict(params)
        names = params.pop("base_bdevs", None)
        if not isinstance(names, list) or not names or \
                not all(isinstance(n, str) for n in names):
            raise ValueError("base_bdevs must be a non-empty list of bdev names")
        if len(set(names)) != len(names):
            raise ValueError("base_bdevs names a bdev twice")
        # Base states, and what bases_changed() rebuilds from them: hooks on
        # every reactor and the app thread change them (held for bookkeeping
        # only, never across an I/O).
        self._state_lock = threading.RLock()
        super().open(params)
        self.bases = []
        try:
            for name in names:
                self.add_base(name)
        except Exception:
            self.close()
            raise

    def add_base(self, name: str, state: str = ONLINE) -> BaseBdev:
        """Open and claim bdev name as a base; the BaseBdev."""
        taken = {b.slot for b in self.bases if b.name != name}
        slot = next((s for s in range(_routing.max_bases()) if s not in taken), None)
        if slot is None:
            raise ValueError("%s has %d bases: no more" % (self.name, len(taken)))
        try:
            base = BaseBdev(self, name, slot, state)
        except BdevError as exc:
            why = {errno.ENODEV: "does not exist", errno.EPERM: "is claimed by another module"}
            raise ValueError("base bdev %s %s" % (name, why.get(exc.errno or 0, str(exc)))) \
                from None
        desc = base.desc
        if desc.block_size != self.block_size or desc.num_blocks < self.num_blocks:
            base.close()
            raise ValueError("base bdev %s has %d blocks of %d bytes; %s needs %d of %d"
                             % (name, desc.num_blocks, desc.block_size, self.name,
                                self.num_blocks, self.block_size))
        # Children go on the parent's buffers: the vbdev asks for the
        # alignment its bases need, as SPDK's raid does (fixed once registered).
        align = max(desc.buf_align, 1).bit_length() - 1
        if align > self.required_alignment:
            if self._routing_engine() is not None:
                base.close()
                raise ValueError("base bdev %s needs buffers aligned to %d bytes; %s has %d"
                                 % (name, 1 << align, self.name, 1 << self.required_alignment))
            self.required_alignment = align
        self.bases = [b for b in self.bases if b.name != name] + [base]
        _routing.slot_reused(self._routing_engine(), slot)
        self._bases_changed()
        return base

    # Routing in C (module docstring).
    def _routing_engine(self) -> Optional[Any]:
        """The disk's engine, once made (bases are opened before it)."""
        return getattr(self, "_engine", None)

    def bases_changed(self) -> None:
        """A base came, went or changed state: override to rebuild what route uses."""

    def _bases_changed(self) -> None:
        with self._state_lock:  # (each rebuild sees the newest states, and is the last stored)
            _routing.bases_changed(self._routing_engine())
            if hasattr(self, "bases") and not self._gone:
                self.bases_changed()

    def forwarding_writes(self) -> int:
        """Writes route() sent to the bases that are still out, on every thread."""
        return _routing.forwarding_writes(self._routing_engine())

    @staticmethod
    def mask(bases: Iterable[BaseBdev]) -> int:
        """A route's mask of these bases."""
        out = 0
        for base in bases:
            out |= 1 << base.slot
        return out

    def routing_channels(self) -> list[tuple[int, IoChannel]]:
        """(slot, this thread's channel) of each usable base: where C routes."""
        out = []
        for base in self.bases:
            if base.usable:
                try:
                    out.append((base.slot, base.channel()))
                except OSError as exc:
                    log.error("%s: no channel of base %s here: %s" % (self.name, base.name, exc))
        return out

    def bases_failed(self, slots: int, status: int) -> None:
        """C's call: routed children failed on these bases."""
        for base in self.bases:
            if slots & (1 << base.slot) and base.state != FAILED:
                self.child_failed(base, status)

    def usable_bases(self) -> list[BaseBdev]:
        return [b for b in self.bases if b.usable]

    def child(self, base: BaseBdev, method: str, lba: int, num_blocks: int, buf: Any,
              cb: Callable[[int], Any]) -> None:
        """Child I/O method ("read_blocks", "write_blocks", "unmap_blocks", ...)
        on base from this thread; cb(status) exactly once, on this thread (now,
        with -ENODEV or the refusal's errno, if the base cannot take it)."""
        base.count_io()
        try:
            ch = base.channel()
            io = getattr(ch, method)
            if buf is None:
                io(lba, num_blocks, cb=cb)
            else:
                io(buf, lba, num_blocks, cb=cb)
        except (OSError, ValueError) as exc:
            cb(-(exc.errno or errno.EIO) if isinstance(exc, OSError) else -errno.EINVAL)

    def child_failed(self, base: BaseBdev, status: int) -> None:
        """A child I/O failed: count it; the default fails the base (degrade)."""
        with self._state_lock:
            base.errors += 1
        base.fail("an I/O failed: %s" % errno.errorcode.get(-status, status))

    def base_event(self, base: BaseBdev, event: int) -> None:
        """A base's event, on the app thread. Removal fails the base; its
        descriptor then closes. Override to do more."""
        if event == BdevEvent.REMOVE:
            base.fail("removed", removed=True)

    def _event(self, base: BaseBdev, event: int) -> None:
        if self._gone:
            return  # the vbdev went first; the descriptor closes itself
        try:
            self.base_event(base, event)
        except Exception as exc:
            log.error("%s: base_event(%s, %r) raised %r" % (self.name, base.name, event, exc))
        if event == BdevEvent.REMOVE:
            self._bases_changed()  # its channels close next

    # The vbdev is gone (deleted, or the app stops): no I/O is left to route.
    _gone = False

    def close(self) -> None:
        self._gone = True
        for base in getattr(self, "bases", []):
            base.close()

    def info(self) -> dict[str, Any]:
        return {"base_bdevs": [b.info() for b in self.bases]}

