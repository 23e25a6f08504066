"""DMA-able memory for I/O (spdk_dma_zmalloc): what a bdev's I/O reads into
and writes from. Any device can reach it, an NVMe SSD through SPDK's
userspace driver included; ordinary Python memory is only good for bdevs that
never DMA (malloc, null, a Python disk). ::

    from spdk_py import dma

    buf = dma.Buffer(4096, align=desc.buf_align)
    buf[:12] = b"Hello World!"
    data = bytes(buf.view[:12])

The memory is zeroed, freed when the Buffer is garbage (never while an I/O
that uses it is out: the I/O holds the Buffer).
"""

from spdk_py._runtime.dma import DEFAULT_ALIGN, Buffer

__all__ = ["Buffer", "DEFAULT_ALIGN"]
