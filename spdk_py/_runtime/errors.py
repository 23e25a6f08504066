"""Every error spdk_py raises, typed once (spdk-rs's error.rs): what failed,
and the errno SPDK gave where there is one. The public spdk_py.errors names
them for module authors."""

from __future__ import annotations

import asyncio
import errno
import os


class SpdkPyError(Exception):
    """The base of spdk_py's own errors."""


class NotInTarget(SpdkPyError, RuntimeError):
    """Code that needs SPDK ran outside an SPDK application started with the shim."""


class NotOnSpdkThread(SpdkPyError, RuntimeError):
    """Called where SPDK has no thread (a worker thread, the CLI)."""


class BdevError(SpdkPyError, OSError):
    """A bdev could not be opened, claimed or given a channel; .errno says why."""


class IoError(SpdkPyError, OSError):
    """An I/O failed (-EIO; -EILSEQ a compare that found other data) or was
    refused at submission; .errno says which."""


# A Future asked for its result too early, or set twice; a task cancelled:
# asyncio's own (spdk_py's futures and tasks are asyncio's).
InvalidState = asyncio.InvalidStateError
Cancelled = asyncio.CancelledError


class RpcError(SpdkPyError):
    """A JSON-RPC error answer: code (a negative errno, or JSON-RPC's own
    -32602 for bad params), and a message naming the problem."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def from_errno(cls, rc: int, detail: str) -> "RpcError":
        """SPDK's convention: the code is the negative errno, then a readable message."""
        err = abs(rc)
        return cls(-err, "%s: %s" % (os.strerror(err), detail))


def errno_name(rc: int) -> str:
    """EIO for -5 (or 5): how SPDK's logs name an errno."""
    return errno.errorcode.get(abs(rc), str(rc))


def io_error(status: int, what: str) -> IoError:
    """The IoError of a negative errno status."""
    return IoError(-status, "%s: %s" % (what, errno_name(status)))
