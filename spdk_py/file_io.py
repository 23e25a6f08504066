"""A file's calls for a disk's deferred I/O, made in C: in a pool of C
threads (FileIo), or through Linux AIO from the reactor (FileAio).

    class MyDisk(Disk):
        def open(self, params):
            self.file = FileIo(os.open(path, os.O_RDWR), threads=32)
        def read(self, io, offset, buf):
            return self.file.read(self.later(io), offset)
        def close(self):
            self.file.close()      # never waits; the last thread closes the fd

The hook decides what to do; a C thread of the pool makes the blocking
call (preadv, pwritev, fdatasync, fallocate) on the I/O's own buffer and completes
it, with no Python in between. A Python worker per call would hand the GIL
back and forth around every call (spdk_py.workers is for work that is
Python: an object store's client). Many threads keep many calls in flight,
as libaio does for SPDK's AIO bdev; they run on the cores no reactor uses,
and there one of them polls for the next call a while before it sleeps (a
wake-up costs more than a cached read).

    self.file = FileAio(os.open(path, os.O_RDWR | os.O_DIRECT))

FileAio is what SPDK's AIO bdev does: the hook's reactor submits the call
(io_submit) and a poller of that reactor reaps it, with no thread between
(where the reactors have every core, threads would take cores from them).
For a file opened O_DIRECT: a buffered io_submit copies through the page
cache before it returns, on the reactor. Its hooks run on the reactor (not
off_reactor).
"""

import os

from spdk_py import workers
from spdk_py._runtime.binding import binding


class FileIo:
    """A pool of C threads making one file's blocking calls. It owns fd."""

    def __init__(self, fd, threads=32):
        ffi, lib = binding.require()
        cores = sorted(workers.worker_cores())
        self.node = lib.spdk_py_file_io_start(fd, threads, cores, len(cores))
        if self.node == ffi.NULL:
            raise OSError("could not start %d file I/O threads" % threads)
        self._submit_call, self._close_call = lib.spdk_py_file_io_submit, \
            lib.spdk_py_file_io_close

    def read(self, later, offset):
        """Read later.buffer's length at offset into it; then later completes."""
        return self._submit(binding.lib.SPDK_PY_FILE_READ, later, offset)

    def write(self, later, offset):
        return self._submit(binding.lib.SPDK_PY_FILE_WRITE, later, offset)

    def flush(self, later):
        """fdatasync, as SPDK's AIO bdev flushes."""
        return self._submit(binding.lib.SPDK_PY_FILE_FLUSH, later, 0)

    def unmap(self, later, offset, length):
        """A hole punched (fallocate PUNCH_HOLE | KEEP_SIZE, as SPDK's AIO
        bdev unmaps): the blocks go back to the file system, and read as zeroes."""
        return self._submit_fallocate(binding.lib.SPDK_PY_FILE_UNMAP, later, offset, length)

    def write_zeroes(self, later, offset, length):
        """Zeroes without writing them (fallocate ZERO_RANGE, or a hole where
        the file system has no ZERO_RANGE)."""
        return self._submit_fallocate(binding.lib.SPDK_PY_FILE_WRITE_ZEROES, later, offset,
                                      length)

    def _submit_fallocate(self, op, later, offset, length):
        return self._submit(op, later, offset, length)

    def _submit(self, op, later, offset, length=0):
        if self.node is None:
            raise RuntimeError("this FileIo is closed")
        ticket, buf = later.hand_over()
        self._submit_call(self.node, op, ticket, buf, offset, length)
        return later

    def close(self):
        """Never waits: the calls queued are still made, then the fd closes."""
        if self.node is not None:
            self._close_call(self.node)
            self.node = None


def can_punch(fd):
    """Whether fd's file system punches holes (what unmap() does)."""
    return bool(binding.require()[1].spdk_py_file_can_punch(fd))


class FileAio(FileIo):
    """One file's calls through Linux AIO, from the hook's reactor. It owns fd.
    Linux AIO has no fallocate: unmap and write_zeroes go to one C thread."""

    def __init__(self, fd):
        ffi, lib = binding.require()
        self.node = lib.spdk_py_file_aio_open(fd)
        if self.node == ffi.NULL:
            raise MemoryError("could not open a file AIO")
        self._fallocator = None
        self._fd = fd

    def _submit(self, op, later, offset, length=0):
        if self.node is None:
            raise RuntimeError("this FileAio is closed")
        ticket, buf = later.hand_over()
        binding.lib.spdk_py_file_aio_submit(self.node, op, ticket, buf, offset)
        return later

    def _submit_fallocate(self, op, later, offset, length):
        if self.node is None:
            raise RuntimeError("this FileAio is closed")
        if self._fallocator is None:  # made at the first: most disks never unmap
            self._fallocator = FileIo(os.dup(self._fd), threads=1)
        return self._fallocator._submit(op, later, offset, length)

    def close(self):
        if self.node is not None:
            binding.lib.spdk_py_file_aio_close(self.node)
            self.node = None
        if self._fallocator is not None:
            self._fallocator.close()
            self._fallocator = None
