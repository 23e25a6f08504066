"""A RAM disk written in Python: the device itself, synchronous. ::

    bdev_python_disk_create {"name": "PyDisk0", "plugin": "examples.ramdisk:RamDisk",
                             "num_blocks": 131072}

Every hook completes its I/O before it returns; the data lives in one memory
region (see storage()). It is nbdkit's Python RAM-disk example, as an SPDK bdev.
"""

from __future__ import annotations

import mmap
from typing import Any, Optional

from spdk_py import dma, thread
from spdk_py.bdev import IoStatus
from spdk_py.disk import Disk


def storage(size: int) -> tuple[Any, memoryview]:
    """Zeroed memory for the data: SPDK's DMA memory (huge pages, as the
    malloc bdev's), or, when the app has too little of it, anonymous memory.
    Random 4K copies over 64 MiB in 4K pages spend a quarter longer missing
    the TLB."""
    try:
        data = dma.Buffer(size)
        return data, data.view
    except MemoryError:
        mapped = mmap.mmap(-1, size)
        return mapped, memoryview(mapped)


def new_view(data: Any) -> memoryview:
    """A memoryview of storage()'s memory, of its own (not a view of a view)."""
    return data.new_view() if isinstance(data, dma.Buffer) else memoryview(data)


class RamDisk(Disk):
    product_name = "Python RAM disk"

    def open(self, params: dict) -> None:
        super().open(params)
        self._store(storage(self.num_blocks * self.block_size)[0])

    def _store(self, data: Any) -> None:
        self.data = data
        # A view per SPDK thread, made from the memory itself: hooks run on
        # every reactor at once (free-threaded), and slicing one shared
        # memoryview on several threads at once is not safe on CPython 3.14t
        # (python/cpython#155606); nor is a refcount every reactor writes fast.
        self._views = thread.local(lambda: new_view(data))

    @property
    def view(self) -> memoryview:
        """The data, as this thread's memoryview."""
        return self._views.get()

    def resize(self, num_blocks: int) -> None:
        # (On the app thread, while hooks may run on every reactor: the old
        # views stay valid for a hook that holds one, and go with their last
        # user. A write racing the copy may land in the old memory: resize a
        # disk that is quiet, as SPDK's own bdevs expect.)
        data, view = storage(num_blocks * self.block_size)
        old = self.view
        kept = min(len(view), len(old))
        view[:kept] = old[:kept]
        self._store(data)

    def read(self, io: int, offset: int, buf: Any) -> None:
        # buf[0:n], not buf[:]: CPython 3.14 makes `[:]` one slice constant
        # every reactor loads, whose reference count the free-threaded build
        # writes from each core (perf: a fifth of the eval loop on 2 reactors).
        n = len(buf)
        buf[0:n] = self._views.get()[offset:offset + n]

    def write(self, io: int, offset: int, buf: Any) -> None:
        self._views.get()[offset:offset + len(buf)] = buf

    def compare(self, io: int, offset: int, buf: Any) -> Optional[IoStatus]:
        if self.view[offset:offset + len(buf)] != memoryview(buf):
            return IoStatus.MISCOMPARE
        return None

    def write_zeroes(self, io: int, offset: int, length: int) -> None:
        self.view[offset:offset + length] = bytes(length)

    def unmap(self, io: int, offset: int, length: int) -> None:
        self.view[offset:offset + length] = bytes(length)

    def flush(self, io: int, offset: int, length: int) -> None:
        pass
