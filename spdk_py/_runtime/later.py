"""An I/O its hook keeps past the hook, completed later from any thread,
exactly once, on its own SPDK thread (C's deferred tickets): the C side of
spdk_py's Later."""

from __future__ import annotations

import errno
from typing import Any, Optional

from spdk_py._runtime import log
from spdk_py._runtime.binding import binding


class Later:
    """An I/O to complete later: done(), or fail(), from any thread, once.

    buffer is the I/O's data apart from the caller's (a write's data, or
    where a read's data goes; None for I/Os without data): work that outlives
    the I/O (a timeout) writes into it, never into memory the I/O gave back.
    """

    __slots__ = ("ticket", "owner", "buffer", "_buf", "_go_on")

    def __init__(self, ticket: int, owner: str, buf: Any, go_on: int) -> None:
        ffi = binding.ffi
        self.ticket = ticket
        self.owner = owner     # the bdev's name, for the log
        self._buf = buf
        self._go_on = go_on    # what done() with no status completes with
        self.buffer: Optional[Any] = None if buf == ffi.NULL else ffi.buffer(buf.data, buf.len)

    def done(self, status: Optional[int] = None) -> bool:
        """Complete the I/O, on its own thread, soon: with status, or as its
        hook returning None would (a disk's I/O succeeds, a vbdev's goes on to
        its base). False if it had failed already (timeout, delete): this
        completion is then dropped, and logged."""
        lib = binding.lib
        rc = lib.spdk_py_deferred_complete(self.ticket,
                                           self._go_on if status is None else int(status))
        if self._buf != binding.ffi.NULL:
            self.buffer = None
            buf, self._buf = self._buf, binding.ffi.NULL
            lib.spdk_py_later_buf_put(buf)
        if rc == -errno.ENOENT:
            log.error("%s: an I/O completed after it had failed (timeout or delete); "
                      "this completion is dropped" % self.owner)
            return False
        if rc:
            log.error("%s: could not send a completion to the I/O's thread (%d)"
                      % (self.owner, rc))
            return False
        return True

    def fail(self) -> bool:
        """Complete the I/O failed."""
        return self.done(binding.lib.SPDK_BDEV_IO_STATUS_FAILED)

    def hand_over(self) -> tuple[int, Any]:
        """C completes this I/O from now on (spdk_py.file_io): its ticket, and
        Python's reference to its buffer (which Python touches no more)."""
        buf, self._buf, self.buffer = self._buf, binding.ffi.NULL, None
        return self.ticket, buf
