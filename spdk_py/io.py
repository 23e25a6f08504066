"""What a module may read of one I/O, without walking SPDK's structs from Python.

Each call is one C helper call; buffers are zero-copy views of SPDK's own memory
(valid until the I/O completes: do not keep them).
"""

from spdk_py.binding import binding


def offset_blocks(io):
    return binding.lib.spdk_py_io_offset_blocks(io)


def num_blocks(io):
    return binding.lib.spdk_py_io_num_blocks(io)


def buffers(io):
    """The I/O's data buffers as writable memoryviews over SPDK's memory (no copy)."""
    ffi, lib = binding.ffi, binding.lib
    return [memoryview(ffi.buffer(lib.spdk_py_io_iov_base(io, i), lib.spdk_py_io_iov_len(io, i)))
            for i in range(lib.spdk_py_io_iovcnt(io))]


def complete(io, status):
    """Complete the I/O from Python (it must not be forwarded as well)."""
    binding.lib.spdk_py_io_complete(io, status)


def age_ticks(io):
    """Ticks since the bdev layer took the I/O (now - its submit timestamp)."""
    return binding.lib.spdk_py_io_age_ticks(io)


def ticks_hz():
    return binding.lib.spdk_get_ticks_hz()
