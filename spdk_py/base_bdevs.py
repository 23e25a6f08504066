"""Vbdevs over several bases: a Python disk (spdk_py.disk) whose I/O goes to
base bdevs it opened and claimed, as SPDK's raid, crypto and compress modules
sit on theirs.

    from spdk_py.base_bdevs import MultiVbdev

    class Striped(MultiVbdev):
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
"""

import errno

from spdk_py import log
from spdk_py.bdev import BdevEvent
from spdk_py.bdev_desc import BdevDesc
from spdk_py.disk import Disk

ONLINE, RESYNCING, FAILED = "online", "resyncing", "failed"


class BaseBdev:
    """One base of a MultiVbdev: its claimed descriptor and state."""

    def __init__(self, owner, name, state=ONLINE):
        self.owner = owner
        self.name = name
        self.state = state
        self.errors = 0
        self.ios = 0
        self.desc = BdevDesc.open(name, claim=True,
                                  on_event=lambda desc, event: owner._event(self, event))

    @property
    def usable(self):
        """Takes I/O: online, or being brought online."""
        return self.state != FAILED

    def channel(self):
        """This thread's I/O channel of the base."""
        return self.desc.channel()

    def fail(self, why):
        if self.state != FAILED:
            log.error("%s: base bdev %s failed (%s): going on without it"
                      % (self.owner.name, self.name, why))
            self.state = FAILED

    def close(self):
        if not self.desc.closed:
            self.desc.close()

    def info(self):
        channels = list(self.desc.channels.values())
        return {"name": self.name, "state": self.state, "ios": self.ios, "errors": self.errors,
                # Times a child I/O waited for a bdev_io (the pool ran dry).
                "nomem_waits": sum(ch.stats()["nomem_waits"] for ch in channels
                                   if ch.ptr is not None)}


class MultiVbdev(Disk):
    """A Disk over base bdevs: params {"base_bdevs": [names]} opens and claims
    each (ValueError if one is missing, claimed elsewhere, or of another block
    size, or smaller than the vbdev)."""

    product_name = "Python multi-base vbdev"

    def open(self, params):
        params = dict(params)
        names = params.pop("base_bdevs", None)
        if not isinstance(names, list) or not names or \
                not all(isinstance(n, str) for n in names):
            raise ValueError("base_bdevs must be a non-empty list of bdev names")
        if len(set(names)) != len(names):
            raise ValueError("base_bdevs names a bdev twice")
        super().open(params)
        self.bases = []
        try:
            for name in names:
                self.add_base(name)
        except Exception:
            self.close()
            raise

    def add_base(self, name, state=ONLINE):
        """Open and claim bdev name as a base; the BaseBdev."""
        try:
            base = BaseBdev(self, name, state)
        except OSError as exc:
            why = {errno.ENODEV: "does not exist", errno.EPERM: "is claimed by another module"}
            raise ValueError("base bdev %s %s" % (name, why.get(exc.errno, exc.strerror))) \
                from None
        desc = base.desc
        if desc.block_size != self.block_size or desc.num_blocks < self.num_blocks:
            base.close()
            raise ValueError("base bdev %s has %d blocks of %d bytes; %s needs %d of %d"
                             % (name, desc.num_blocks, desc.block_size, self.name,
                                self.num_blocks, self.block_size))
        self.bases = [b for b in self.bases if b.name != name] + [base]
        return base

    def usable_bases(self):
        return [b for b in self.bases if b.usable]

    def child(self, base, method, lba, num_blocks, buf, cb):
        """Child I/O method ("read_blocks", "write_blocks", "unmap_blocks", ...)
        on base from this thread; cb(status) exactly once, on this thread (now,
        with -ENODEV or the refusal's errno, if the base cannot take it)."""
        base.ios += 1
        try:
            ch = base.channel()
            io = getattr(ch, method)
            if buf is None:
                io(lba, num_blocks, cb=cb)
            else:
                io(buf, lba, num_blocks, cb=cb)
        except (OSError, ValueError) as exc:
            cb(-(exc.errno or errno.EIO) if isinstance(exc, OSError) else -errno.EINVAL)

    def child_failed(self, base, status):
        """A child I/O failed: count it; the default fails the base (degrade)."""
        base.errors += 1
        base.fail("an I/O failed: %s" % errno.errorcode.get(-status, status))

    def base_event(self, base, event):
        """A base's event, on the app thread. Removal fails the base; its
        descriptor then closes. Override to do more."""
        if event == BdevEvent.REMOVE:
            base.fail("removed")

    def _event(self, base, event):
        try:
            self.base_event(base, event)
        except Exception as exc:
            log.error("%s: base_event(%s, %r) raised %r" % (self.name, base.name, event, exc))

    def close(self):
        for base in getattr(self, "bases", []):
            base.close()

    def info(self):
        return {"base_bdevs": [b.info() for b in self.bases]}

