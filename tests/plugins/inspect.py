"""A test plugin: a passthru that reads every write's data through bdev_io.buffers()
and logs its checksum, so a test can compare it with what was written."""

import zlib

from spdk_py import bdev_io, log, passthru
from spdk_py.bdev import IoType
from spdk_py.jsonrpc import rpc_method
from spdk_py.vbdev_rpc import create_from_rpc


class InspectVbdev(passthru.PassthruVbdev):
    create_method = "bdev_inspect_create"

    def submit_request(self, io, io_type):
        if io_type == IoType.WRITE:
            crc = 0
            for view in bdev_io.buffers(io):
                crc = zlib.crc32(view, crc)
            log.notice("inspect: write offset_blocks=%d crc32=%08x"
                       % (bdev_io.offset_blocks(io), crc))
        return super().submit_request(io, io_type)


@rpc_method("bdev_inspect_create", params={"base_bdev_name": str, "name": str})
def bdev_inspect_create(params):
    """Create a passthru that logs the checksum of every write's data."""
    return create_from_rpc(params, InspectVbdev)
