"""DMA-able memory for I/O (spdk_dma_zmalloc): what a bdev's I/O reads into
and writes from. Any device can reach it, an NVMe SSD through SPDK's
userspace driver included; ordinary Python memory is only good for bdevs that
never DMA (malloc, null, a Python disk).

    from spdk_py import dma

    buf = dma.Buffer(4096, align=desc.buf_align)
    buf[:12] = b"Hello World!"
    data = bytes(buf.view[:12])

The memory is zeroed, freed when the Buffer is garbage (never while an I/O
that uses it is out: the I/O holds the Buffer).
"""

from spdk_py._runtime.binding import binding

DEFAULT_ALIGN = 4096


class Buffer:
    """size bytes of zeroed DMA memory, as a writable memoryview (.view)."""

    __slots__ = ("ptr", "view", "size")

    def __init__(self, size, align=DEFAULT_ALIGN):
        ffi, lib = binding.require()
        if size <= 0:
            raise ValueError("a DMA buffer needs a size above 0, not %d" % size)
        ptr = lib.spdk_dma_zmalloc(size, max(1, int(align)), ffi.NULL)
        if ptr == ffi.NULL:
            raise MemoryError("spdk_dma_zmalloc(%d) failed: out of hugepage memory" % size)
        self.ptr = ffi.gc(ptr, lib.spdk_dma_free, size=size)
        self.view = memoryview(ffi.buffer(self.ptr, size))
        self.size = size

    def __len__(self):
        return self.size

    def __getitem__(self, key):
        return self.view[key]

    def __setitem__(self, key, value):
        self.view[key] = value

    def __bytes__(self):
        return bytes(self.view)

    def fill(self, byte=0):
        self.view[:] = bytes([byte]) * self.size
