"""A bdev opened from Python (spdk_bdev_open_ext): the handle its I/O goes
through, as a C module holds a struct spdk_bdev_desc.

    from spdk_py.bdev_desc import BdevDesc

    desc = BdevDesc.open("Malloc0", on_event=lambda desc, event: ...)
    ch = desc.channel()            # this SPDK thread's I/O channel (spdk_py.io_channel)
    await ch.write_blocks(buf, 0, 1)
    await desc.close()             # its channels first, each on its thread

Open and close run on an SPDK thread; the descriptor belongs to the thread
that opened it, which is where its events arrive and where it is closed
(close() from elsewhere sends it there). On SPDK_BDEV_EVENT_REMOVE the
descriptor closes itself after on_event, as SPDK requires for the bdev to go;
I/Os still out complete first.
"""

import errno

from spdk_py import log, thread
from spdk_py.bdev import BdevEvent, IoType
from spdk_py._runtime.binding import binding
from spdk_py._runtime.waiters import waiter
from spdk_py.coroutine import Future
from spdk_py.io_channel import IoChannel

# Descriptors C may still call, by their handles.
live = set()


def exists(name):
    """Whether a bdev of that name is registered now."""
    ffi, lib = binding.require()
    return lib.spdk_bdev_get_by_name(name.encode()) != ffi.NULL


class BdevDesc:
    """An open bdev. Use BdevDesc.open(name, ...)."""

    def __init__(self, name, write, on_event):
        self.name = name
        self.write = write
        self.on_event = on_event
        self.thread = None
        self.ptr = None
        # struct spdk_thread pointer -> IoChannel: found on the per-I/O path
        # (a child I/O's) with no name or id looked up.
        self.channels = {}
        self._closed = None  # the close() Future, once closing

    @classmethod
    def open(cls, name, write=True, on_event=None, claim=False):
        """Open bdev name on this SPDK thread; on_event(desc, BdevEvent) for
        its remove and resize. claim=True claims it for the spdk_py module
        (no other module may claim it then). OSError(ENODEV) if there is no such bdev."""
        ffi, lib = binding.require()
        self = cls(name, write, on_event)
        self.thread = thread.current()
        handle = ffi.new_handle(self)
        out = ffi.new("struct spdk_py_bdev_desc **")
        rc = lib.spdk_py_bdev_desc_open(name.encode(), bool(write), handle, out)
        if rc != 0:
            raise OSError(-rc, "cannot open bdev %s: %s" % (name, errno.errorcode.get(-rc, rc)))
        self.ptr = out[0]
        self._handle = handle
        live.add(self)
        if claim:
            try:
                self.claim()
            except OSError:
                self.close()
                raise
        return self

    # What the bdev is.
    @property
    def bdev(self):
        return self._require_open().bdev

    @property
    def block_size(self):
        return binding.lib.spdk_bdev_get_block_size(self.bdev)

    @property
    def num_blocks(self):
        return binding.lib.spdk_bdev_get_num_blocks(self.bdev)

    @property
    def buf_align(self):
        return binding.lib.spdk_bdev_get_buf_align(self.bdev)

    def supports(self, io_type):
        return bool(binding.lib.spdk_bdev_io_type_supported(self.bdev, int(IoType(io_type))))

    @property
    def claimed(self):
        return self.ptr is not None and bool(self.ptr.claimed)

    @property
    def closed(self):
        return self._closed is not None

    def claim(self):
        rc = binding.lib.spdk_py_bdev_desc_claim(self._require_open())
        if rc != 0:
            raise OSError(-rc, "cannot claim bdev %s: another module holds it" % self.name)

    def channel(self):
        """This SPDK thread's I/O channel of the bdev (one per thread, kept)."""
        here = binding.lib.spdk_get_thread()
        ch = self.channels.get(here)
        if ch is None or ch.closing or self._closed is not None:
            self._require_open()
            ch = self.channels[here] = IoChannel(self, thread.current(), here)
        return ch

    def _require_open(self):
        if self.ptr is None or self._closed is not None:
            raise OSError(errno.EBADF, "bdev %s's descriptor is closed" % self.name)
        return self.ptr

    def close(self):
        """Close every channel (on its thread, after its I/Os), then the
        descriptor on its thread; a Future done when it is closed. Again: the
        same Future."""
        if self._closed is not None:
            return self._closed
        self._closed = Future()
        if thread.current() == self.thread:
            self._close_here()
        else:
            self.thread.send(self._close_here)
        return self._closed

    def _close_here(self):
        for ch in list(self.channels.values()):
            if ch.thread == self.thread:
                ch.close()
            else:
                ch.thread.send(ch.close)
        binding.lib.spdk_py_bdev_desc_close(self.ptr, waiter(lambda rc: self._gone()))

    def _gone(self):
        self.ptr = None
        live.discard(self)
        self._closed.set_result(None)

    def channel_closed(self, ch):
        if self.channels.get(ch.thread_ptr) is ch:
            del self.channels[ch.thread_ptr]

    def event(self, event_type):
        """C's call, on the descriptor's thread."""
        event = BdevEvent(event_type) if event_type in BdevEvent._value2member_map_ \
            else event_type
        if self.on_event is not None:
            try:
                self.on_event(self, event)
            except Exception as exc:
                log.error("on_event of bdev %s's descriptor raised %r" % (self.name, exc))
        if event == BdevEvent.REMOVE and self._closed is None:
            log.notice("spdk_py: bdev %s is being removed: closing its descriptor" % self.name)
            self.close()

    def __repr__(self):
        return "<BdevDesc %s%s>" % (self.name, " closed" if self.closed else "")
