"""Example module: a block range nobody may change.

    bdev_readonly_guard_create {base_bdev_name, name, lba_start, lba_end}

WRITE, WRITE_ZEROES and UNMAP touching [lba_start, lba_end) fail; they are the
only types Python hooks. Reads and everything else are forwarded in C.
"""

import functools

from spdk_py import io, passthru
from spdk_py.bdev import IoStatus, IoType
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, rpc_method


class ReadonlyGuard(passthru.PassthruVbdev):
    product_name = "read-only guard"
    create_method = "bdev_readonly_guard_create"

    def __init__(self, name, mode, lba_start, lba_end):
        super().__init__(name, mode)
        self.lba_start, self.lba_end = lba_start, lba_end
        self.refused = 0

    def submit_write(self, bdev_io):
        return self._guard(bdev_io, IoType.WRITE)

    def submit_write_zeroes(self, bdev_io):
        return self._guard(bdev_io, IoType.WRITE_ZEROES)

    def submit_unmap(self, bdev_io):
        return self._guard(bdev_io, IoType.UNMAP)

    def _guard(self, bdev_io, io_type):
        start = io.offset_blocks(bdev_io)
        if start < self.lba_end and start + io.num_blocks(bdev_io) > self.lba_start:
            self.refused += 1
            io.complete(bdev_io, IoStatus.FAILED)
            return 0
        return self.forward(bdev_io, io_type)

    def config_params(self):
        return {"base_bdev_name": self.base_name, "name": self.name,
                "lba_start": self.lba_start, "lba_end": self.lba_end}


@rpc_method("bdev_readonly_guard_create",
            params={"base_bdev_name": str, "name": str, "lba_start": int, "lba_end": int})
def bdev_readonly_guard_create(params):
    """Create a bdev on a base whose blocks [lba_start, lba_end) cannot be changed."""
    start, end = params.pop("lba_start"), params.pop("lba_end")
    if not 0 <= start < end:
        raise RpcError(INVALID_PARAMS, "need 0 <= lba_start < lba_end")
    # A partial of the class (not a lambda): a reload can point it at the new class.
    return passthru.create_from_rpc(
        params, functools.partial(ReadonlyGuard, lba_start=start, lba_end=end))


@rpc_method("bdev_readonly_guard_get_refused", params={"name": str})
def bdev_readonly_guard_get_refused(params):
    """How many changing I/Os the guard refused."""
    return passthru.existing(params["name"], ReadonlyGuard, "read-only guard").refused
