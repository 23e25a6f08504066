"""What a module may read of one I/O, without walking SPDK's structs from Python.

Each call is one C helper call; buffers are zero-copy views of SPDK's own memory
(valid until the I/O completes: do not keep them).
"""

from spdk_py._runtime.binding import binding

NVME_CMD_BYTES = 64  # struct spdk_nvme_cmd, the NVMe specification's submission entry


# offset_blocks and num_blocks are 0 for I/O types with no block range (RESET,
# ABORT, the NVMe passthrough types).
def offset_blocks(io):
    return binding.lib.spdk_py_io_offset_blocks(io)


def num_blocks(io):
    return binding.lib.spdk_py_io_num_blocks(io)


def buffers(io):
    """The I/O's data buffers as writable memoryviews over SPDK's memory (no
    copy); an NVMe passthrough command's data buffer, for those types."""
    ffi, lib = binding.ffi, binding.lib
    return [memoryview(ffi.buffer(lib.spdk_py_io_iov_base(io, i), lib.spdk_py_io_iov_len(io, i)))
            for i in range(lib.spdk_py_io_iovcnt(io))]


def nvme_cmd(io):
    """The 64-byte NVMe command of an NVMe passthrough I/O (NVME_ADMIN, NVME_IO,
    NVME_IO_MD, NVME_IOV_MD) as a writable memoryview, or None for other types:
    read its opcode (byte 0), or change it before forwarding."""
    ffi, lib = binding.ffi, binding.lib
    cmd = lib.spdk_py_io_nvme_cmd(io)
    return None if cmd == ffi.NULL else memoryview(ffi.buffer(cmd, NVME_CMD_BYTES))


def bounce_buffer(io):
    """A writable memoryview of a DMA buffer of the I/O's size, ours until the
    I/O completes: fill it, then write_bounce(io) writes it to the base
    instead of the caller's data (which must not change)."""
    ffi, lib = binding.ffi, binding.lib
    size = ffi.new("size_t *")
    ptr = lib.spdk_py_io_bounce(io, size)
    if ptr == ffi.NULL:
        raise MemoryError("no DMA memory for a bounce buffer")
    return memoryview(ffi.buffer(ptr, size[0]))


def write_bounce(io):
    """Forward a WRITE to the base from its bounce buffer; 0 or a negative errno."""
    return binding.lib.spdk_py_base_write_bounce(io)


def complete(io, status):
    """Complete the I/O from Python (it must not be forwarded as well)."""
    binding.lib.spdk_py_io_complete(io, status)


def age_ticks(io):
    """Ticks since the bdev layer took the I/O (now - its submit timestamp)."""
    return binding.lib.spdk_py_io_age_ticks(io)


def ticks_hz():
    return binding.lib.spdk_get_ticks_hz()
