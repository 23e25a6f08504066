"""The I/Os of the batch Python is running, and what a hook may read of one.

A hook's io is its index in the batch C handed over (a small int: no object
per I/O); the engine running the batch names it here, and the accessors
find the bdev_io by it. Valid while the batch runs: a hook that keeps an I/O
takes a Later. Each accessor is one C helper call, reading the I/O's own
fields in C (no SPDK struct is read from Python); buffers are zero-copy views
of SPDK's memory.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from spdk_py._runtime.binding import binding

NVME_CMD_BYTES = 64  # struct spdk_nvme_cmd, the NVMe specification's submission entry


class _Batch(threading.local):
    """The batch this OS thread runs: its array of struct spdk_bdev_io *, and
    how many. Per thread: reactors run their batches at the same time when
    no executor lock serializes them."""

    def __init__(self) -> None:
        self.ios: Any = None
        self.n = 0


current = _Batch()


def enter(ios: Any, n: int) -> tuple[Any, int]:
    """Name the batch running now; the one it interrupts, to give back to leave()."""
    saved = current.ios, current.n
    current.ios, current.n = ios, n
    return saved


def leave(saved: tuple[Any, int]) -> None:
    current.ios, current.n = saved


def bdev_io(io: int) -> Any:
    """The struct spdk_bdev_io * of a hook's io."""
    if not 0 <= io < current.n:
        raise RuntimeError("io %r is not an I/O of the batch running (an io is valid in its "
                           "hook only: keep one with later(io))" % (io,))
    return current.ios[io]


# offset_blocks and num_blocks are 0 for I/O types with no block range (RESET,
# ABORT, the NVMe passthrough types).
def offset_blocks(io: int) -> int:
    return binding.lib.spdk_py_io_offset_blocks(bdev_io(io))


def num_blocks(io: int) -> int:
    return binding.lib.spdk_py_io_num_blocks(bdev_io(io))


def buffers(io: int) -> list[memoryview]:
    ffi, lib = binding.ffi, binding.lib
    ptr = bdev_io(io)
    return [memoryview(ffi.buffer(lib.spdk_py_io_iov_base(ptr, i), lib.spdk_py_io_iov_len(ptr, i)))
            for i in range(lib.spdk_py_io_iovcnt(ptr))]


def nvme_cmd(io: int) -> Optional[memoryview]:
    ffi, lib = binding.ffi, binding.lib
    cmd = lib.spdk_py_io_nvme_cmd(bdev_io(io))
    return None if cmd == ffi.NULL else memoryview(ffi.buffer(cmd, NVME_CMD_BYTES))


def bounce_buffer(io: int) -> memoryview:
    ffi, lib = binding.ffi, binding.lib
    size = ffi.new("size_t *")
    ptr = lib.spdk_py_io_bounce(bdev_io(io), size)
    if ptr == ffi.NULL:
        raise MemoryError("no DMA memory for a bounce buffer")
    return memoryview(ffi.buffer(ptr, size[0]))


def age_ticks(io: int) -> int:
    return binding.lib.spdk_py_io_age_ticks(bdev_io(io))


def ticks_hz() -> int:
    return binding.lib.spdk_get_ticks_hz()
