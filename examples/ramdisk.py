"""A RAM disk written in Python: the device itself, synchronous.

    bdev_python_disk_create {"name": "PyDisk0", "plugin": "examples.ramdisk:RamDisk",
                             "num_blocks": 131072}

Every hook completes its I/O before it returns; the data lives in one
bytearray. It is nbdkit's Python RAM-disk example, as an SPDK bdev.
"""

from spdk_py.bdev import IoStatus
from spdk_py.disk import Disk


class RamDisk(Disk):
    product_name = "Python RAM disk"

    def open(self, params):
        super().open(params)
        self.data = bytearray(self.num_blocks * self.block_size)
        self.view = memoryview(self.data)

    def resize(self, num_blocks):
        size = num_blocks * self.block_size
        self.view.release()
        if size > len(self.data):
            self.data.extend(bytes(size - len(self.data)))
        else:
            del self.data[size:]
        self.view = memoryview(self.data)

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

    def reset(self, io):
        pass
