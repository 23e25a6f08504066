"""A RAM disk written in Python: the device itself, synchronous.

    bdev_python_disk_create {"name": "PyDisk0", "plugin": "examples.ramdisk:RamDisk",
                             "num_blocks": 131072}

Every hook completes its I/O before it returns; the data lives in one memory
region (see storage()). It is nbdkit's Python RAM-disk example, as an SPDK bdev.
"""

import mmap

from spdk_py import dma
from spdk_py.bdev import IoStatus
from spdk_py.disk import Disk


def storage(size):
    """Zeroed memory for the data: SPDK's DMA memory (huge pages, as the
    malloc bdev's), or, when the app has too little of it, anonymous memory.
    Random 4K copies over 64 MiB in 4K pages spend a quarter longer missing
    the TLB."""
    try:
        data = dma.Buffer(size)
        return data, data.view
    except MemoryError:
        data = mmap.mmap(-1, size)
        return data, memoryview(data)


class RamDisk(Disk):
    product_name = "Python RAM disk"

    def open(self, params):
        super().open(params)
        self.data, self.view = storage(self.num_blocks * self.block_size)

    def resize(self, num_blocks):
        data, view = storage(num_blocks * self.block_size)
        kept = min(len(view), len(self.view))
        view[:kept] = self.view[:kept]
        self.view.release()
        self.data, self.view = data, view  # the old memory goes with its last view

    def read(self, io, offset, buf):
        buf[:] = self.view[offset:offset + len(buf)]

    def write(self, io, offset, buf):
        self.view[offset:offset + len(buf)] = buf

    def compare(self, io, offset, buf):
        if self.view[offset:offset + len(buf)] != memoryview(buf):
            return IoStatus.MISCOMPARE
        return None

    def write_zeroes(self, io, offset, length):
        self.view[offset:offset + length] = bytes(length)

    def unmap(self, io, offset, length):
        self.view[offset:offset + length] = bytes(length)

    def flush(self, io, offset, length):
        pass
