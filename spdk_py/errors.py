"""The errors spdk_py raises, one type per kind of failure. ::

    SpdkPyError        the base of them all
    NotInTarget        code that needs SPDK ran outside an SPDK application
    NotOnSpdkThread    called where SPDK has no thread (a worker, the CLI)
    BdevError          a bdev could not be opened, claimed, or given a channel (an OSError: .errno)
    IoError            an I/O failed or was refused (an OSError: .errno, -EIO, -EILSEQ, ...)
    InvalidState       a Future asked for its result too early, or set twice
    Cancelled          a task was cancelled
    RpcError           a JSON-RPC error answer: .code, .message

A hook that raises anything fails its own I/O (with a log line naming the
bdev and the hook); an RPC handler that raises RpcError answers with it.
"""

from spdk_py._runtime.errors import (BdevError, Cancelled, InvalidState, IoError, NotInTarget,
                                     NotOnSpdkThread, RpcError, SpdkPyError)

__all__ = ["SpdkPyError", "NotInTarget", "NotOnSpdkThread", "BdevError", "IoError",
           "InvalidState", "Cancelled", "RpcError"]
