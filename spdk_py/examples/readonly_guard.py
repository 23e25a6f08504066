"""Example module: a block range nobody may change. ::

    bdev_readonly_guard_create {base_bdev_name, name, lba_start, lba_end}

WRITE, WRITE_ZEROES and UNMAP touching [lba_start, lba_end) fail; they are the
only types Python hooks. Reads and everything else are forwarded in C.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from spdk_py import bdev_io, thread
from spdk_py.bdev import IoStatus
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import create_from_rpc, existing


class ReadonlyGuard(PassthruVbdev):
    product_name = "read-only guard"
    create_method = "bdev_readonly_guard_create"

    def __init__(self, name: str, mode: str, lba_start: int, lba_end: int) -> None:
        super().__init__(name, mode)
        self.lba_start, self.lba_end = lba_start, lba_end
        self._refused = thread.local(lambda: [0])  # per SPDK thread: hooks run on every reactor

    @property
    def refused(self) -> int:
        """Changing I/Os refused so far, on every thread."""
        return sum(n[0] for n in self._refused.values())

    def submit_write(self, io: int) -> Optional[IoStatus]:
        return self._guard(io)

    def submit_write_zeroes(self, io: int) -> Optional[IoStatus]:
        return self._guard(io)

    def submit_unmap(self, io: int) -> Optional[IoStatus]:
        return self._guard(io)

    def _guard(self, io: int) -> Optional[IoStatus]:
        start = bdev_io.offset_blocks(io)
        if start < self.lba_end and start + bdev_io.num_blocks(io) > self.lba_start:
            self._refused.get()[0] += 1
            return IoStatus.FAILED
        return None

    def config_params(self) -> dict[str, Any]:
        return {"base_bdev_name": self.base_name, "name": self.name,
                "lba_start": self.lba_start, "lba_end": self.lba_end}


@rpc_method("bdev_readonly_guard_create",
            params={"base_bdev_name": str, "name": str, "lba_start": int, "lba_end": int})
def bdev_readonly_guard_create(params: dict) -> str:
    """Create a bdev on a base whose blocks [lba_start, lba_end) cannot be changed."""
    start, end = params.pop("lba_start"), params.pop("lba_end")
    if not 0 <= start < end:
        raise RpcError(INVALID_PARAMS, "need 0 <= lba_start < lba_end")
    # A partial of the class (not a lambda): a reload can point it at the new class.
    return create_from_rpc(params, functools.partial(ReadonlyGuard, lba_start=start,
                                                     lba_end=end))


@rpc_method("bdev_readonly_guard_get_refused", params={"name": str})
def bdev_readonly_guard_get_refused(params: dict) -> int:
    """How many changing I/Os the guard refused."""
    return existing(params["name"], ReadonlyGuard, "read-only guard").refused
