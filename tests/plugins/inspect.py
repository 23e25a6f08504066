"""A test plugin: a passthru that reads every write's data through io.buffers()
and logs its checksum, so a test can compare it with what was written."""

import zlib

from spdk_py import io, log, passthru
from spdk_py.bdev import IoType
from spdk_py.jsonrpc import rpc_method


class InspectVbdev(passthru.PassthruVbdev):
    create_method = "bdev_inspect_create"

    def submit_request(self, ch, bdev_io, io_type):
        if io_type == IoType.WRITE:
            crc = 0
            for view in io.buffers(bdev_io):
                crc = zlib.crc32(view, crc)
            log.notice("inspect: write offset_blocks=%d crc32=%08x"
                       % (io.offset_blocks(bdev_io), crc))
        return super().submit_request(ch, bdev_io, io_type)


@rpc_method("bdev_inspect_create", params={"base_bdev_name": str, "name": str})
def bdev_inspect_create(params):
    """Create a passthru that logs the checksum of every write's data."""
    return passthru.create_from_rpc(params, InspectVbdev)
