"""DMA-able memory (spdk_dma_zmalloc), for I/O to any bdev (spdk_py.dma
documents it for module authors)."""

from __future__ import annotations

from typing import Any, Union

from spdk_py._runtime.binding import binding

DEFAULT_ALIGN = 4096


class Buffer:
    """size bytes of zeroed DMA memory, as a writable memoryview (.view)."""

    __slots__ = ("ptr", "view", "size")

    def __init__(self, size: int, align: int = DEFAULT_ALIGN) -> None:
        ffi, lib = binding.require()
        if size <= 0:
            raise ValueError("a DMA buffer needs a size above 0, not %d" % size)
        ptr = lib.spdk_dma_zmalloc(size, max(1, int(align)), ffi.NULL)
        if ptr == ffi.NULL:
            raise MemoryError("spdk_dma_zmalloc(%d) failed: out of hugepage memory" % size)
        self.ptr: Any = ffi.gc(ptr, lib.spdk_dma_free, size=size)
        self.view = memoryview(ffi.buffer(self.ptr, size))
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: Union[int, slice]) -> Any:
        return self.view[key]

    def __setitem__(self, key: Union[int, slice], value: Any) -> None:
        self.view[key] = value

    def __bytes__(self) -> bytes:
        return bytes(self.view)

    def new_view(self) -> memoryview:
        """Another memoryview of the memory, of its own: one per thread where
        threads slice it at once (slicing one memoryview on several threads is
        not safe on a free-threaded CPython 3.14: python/cpython#155606)."""
        return memoryview(binding.ffi.buffer(self.ptr, self.size))

    def fill(self, byte: int = 0) -> None:
        self.view[:] = bytes([byte]) * self.size
