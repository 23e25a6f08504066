"""A bdev opened from Python: spdk_bdev_open_ext with its events, an
optional claim, and a close on the opening thread once every channel is put
(spdk_py.bdev_desc documents it for module authors)."""

from __future__ import annotations


import errno
from typing import Any, Callable, Optional

from spdk_py._runtime import handles, log, thread
from spdk_py._runtime.binding import binding
from spdk_py._runtime.completion import waiter
from spdk_py._runtime.errors import BdevError
from spdk_py._runtime.io_channel import IoChannel
from spdk_py._runtime.tasks import Future, new_future

EventHandler = Callable[["BdevDesc", int], Any]


def exists(name: str) -> bool:
    """Whether a bdev of that name is registered now."""
    ffi, lib = binding.require()
    return lib.spdk_bdev_get_by_name(name.encode()) != ffi.NULL


class BdevDesc:
    """An open bdev. Use BdevDesc.open(name, ...)."""

    def __init__(self, name: str, write: bool, on_event: Optional[EventHandler]) -> None:
        self.name = name
        self.write = write
        self.on_event = on_event
        self.thread: Optional[thread.Thread] = None
        self.ptr: Any = None
        # struct spdk_thread pointer -> IoChannel: found on the per-I/O path
        # (a child I/O's) with no name or id looked up.
        self.channels: dict[Any, IoChannel] = {}
        self._closed: Optional[Future] = None  # the close() Future, once closing

    @classmethod
    def open(cls, name: str, write: bool = True, on_event: Optional[EventHandler] = None,
             claim: bool = False) -> "BdevDesc":
        """Open bdev name on this SPDK thread; on_event(desc, BdevEvent) for
        its remove and resize, on this thread. claim=True claims it for the
        spdk_py module (no other module may claim it then). BdevError
        (ENODEV) if there is no such bdev, (EPERM) if it is claimed already."""
        ffi, lib = binding.require()
        self = cls(name, write, on_event)
        self.thread = thread.current()
        out = ffi.new("struct spdk_py_bdev_desc **")
        rc = lib.spdk_py_bdev_desc_open(name.encode(), bool(write), handles.keep(self), out)
        if rc != 0:
            handles.release(self)
            raise BdevError(-rc, "cannot open bdev %s: %s" % (name, errno.errorcode.get(-rc, rc)))
        self.ptr = out[0]
        if claim:
            try:
                self.claim()
            except BdevError:
                self.close()
                raise
        return self

    # What the bdev is.
    @property
    def bdev(self) -> Any:
        return self._require_open().bdev

    @property
    def block_size(self) -> int:
        return binding.lib.spdk_bdev_get_block_size(self.bdev)

    @property
    def num_blocks(self) -> int:
        return binding.lib.spdk_bdev_get_num_blocks(self.bdev)

    @property
    def buf_align(self) -> int:
        return binding.lib.spdk_bdev_get_buf_align(self.bdev)

    def supports(self, io_type: int) -> bool:
        """Whether the bdev advertises this I/O type (spdk_py.bdev.IoType)."""
        return bool(binding.lib.spdk_bdev_io_type_supported(self.bdev, int(io_type)))

    @property
    def claimed(self) -> bool:
        return self.ptr is not None and bool(self.ptr.claimed)

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def claim(self) -> None:
        """Claim the bdev for the spdk_py module, as a vbdev claims its base."""
        rc = binding.lib.spdk_py_bdev_desc_claim(self._require_open())
        if rc != 0:
            raise BdevError(-rc, "cannot claim bdev %s: another module holds it" % self.name)

    def channel(self) -> IoChannel:
        """This SPDK thread's I/O channel of the bdev (one per thread, kept)."""
        here = binding.lib.spdk_get_thread()
        ch = self.channels.get(here)
        if ch is None or ch.closing or self._closed is not None:
            self._require_open()
            ch = self.channels[here] = IoChannel(self, thread.current(), here)
        return ch

    def _require_open(self) -> Any:
        if self.ptr is None or self._closed is not None:
            raise BdevError(errno.EBADF, "bdev %s's descriptor is closed" % self.name)
        return self.ptr

    def close(self) -> Future:
        """Close every channel (on its thread, after its I/Os), then the
        descriptor on its thread; a Future done when it is closed. Again: the
        same Future."""
        if self._closed is not None:
            return self._closed
        self._closed = new_future()
        if self.thread is None or thread.current() == self.thread:
            self._close_here()
        else:
            self.thread.send(self._close_here)
        return self._closed

    def _close_here(self) -> None:
        for ch in list(self.channels.values()):
            if ch.thread == self.thread:
                ch.close()
            else:
                ch.thread.send(ch.close)
        binding.lib.spdk_py_bdev_desc_close(self.ptr, waiter(lambda rc: self._gone()))

    def _gone(self) -> None:
        self.ptr = None
        handles.release(self)
        assert self._closed is not None
        self._closed.set_result(None)

    def channel_closed(self, ch: IoChannel) -> None:
        if self.channels.get(ch.thread_ptr) is ch:
            del self.channels[ch.thread_ptr]

    def event(self, event: int) -> None:
        """C's call, on the descriptor's thread."""
        if self.on_event is not None:
            try:
                self.on_event(self, event)
            except Exception as exc:
                log.error("on_event of bdev %s's descriptor raised %r" % (self.name, exc))
        if event == binding.lib.SPDK_BDEV_EVENT_REMOVE and self._closed is None:
            log.notice("spdk_py: bdev %s is being removed: closing its descriptor" % self.name)
            self.close()

    def __repr__(self) -> str:
        return "<BdevDesc %s%s>" % (self.name, " closed" if self.closed else "")
