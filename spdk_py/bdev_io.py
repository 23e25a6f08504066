"""What a vbdev's hook may read of its I/O (SPDK's struct spdk_bdev_io),
without walking SPDK's structs from Python. ::

    from spdk_py import bdev_io

    def submit_write(self, io):
        if bdev_io.num_blocks(io) * 512 > 128 * 1024:
            return IoStatus.FAILED                 # completes it, failed
        return None                                # on to the base

A hook's ``io`` is that I/O's handle for the length of the hook (its index in
the batch Python is running). To keep an I/O past its hook, take a Later
(``self.later(io)``). Buffers are zero-copy memoryviews of SPDK's own memory,
valid until the I/O completes: do not keep them. ::

    offset_blocks(io), num_blocks(io)   the block range (0 for types with none:
                                        RESET, ABORT, the NVMe passthrough types)
    buffers(io)                         the data, as writable memoryviews (an NVMe
                                        passthrough command's data buffer, for those)
    nvme_cmd(io)                        the 64-byte NVMe command of an NVMe passthrough
                                        I/O (writable: change it before it goes on), or None
    bounce_buffer(io)                   a DMA buffer of the I/O's size, freed when it
                                        completes: fill it, and a write goes on from it
                                        instead of the caller's data (which must not change)
    age_ticks(io), ticks_hz()           ticks since the bdev layer took the I/O
"""

from spdk_py._runtime.bdev_io import (NVME_CMD_BYTES, age_ticks, bounce_buffer, buffers,
                                      num_blocks, nvme_cmd, offset_blocks, ticks_hz)

__all__ = ["offset_blocks", "num_blocks", "buffers", "nvme_cmd", "bounce_buffer", "age_ticks",
           "ticks_hz", "NVME_CMD_BYTES"]
