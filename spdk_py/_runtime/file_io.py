"""A file's calls for a disk's deferred I/O, made in C: a pool of C threads
(FileIo) or Linux AIO from the reactor (FileAio). spdk_py.file_io documents
them for module authors."""

from __future__ import annotations


import os
import threading
from typing import Any, Optional

from spdk_py._runtime.binding import binding
from spdk_py._runtime.cores import worker_cores


class FileIo:
    """A pool of C threads making one file's blocking calls. It owns fd."""

    def __init__(self, fd: int, threads: int = 32) -> None:
        ffi, lib = binding.require()
        cores = sorted(worker_cores())
        self.node: Any = lib.spdk_py_file_io_start(fd, threads, cores, len(cores))
        if self.node == ffi.NULL:
            raise OSError("could not start %d file I/O threads" % threads)
        self._submit_call, self._close_call = lib.spdk_py_file_io_submit, \
            lib.spdk_py_file_io_close

    def read(self, later: Any, offset: int) -> Any:
        """Read later.buffer's length at offset into it; then later completes."""
        return self._submit(binding.lib.SPDK_PY_FILE_READ, later, offset)

    def write(self, later: Any, offset: int) -> Any:
        return self._submit(binding.lib.SPDK_PY_FILE_WRITE, later, offset)

    def flush(self, later: Any) -> Any:
        """fdatasync, as SPDK's AIO bdev flushes."""
        return self._submit(binding.lib.SPDK_PY_FILE_FLUSH, later, 0)

    def unmap(self, later: Any, offset: int, length: int) -> Any:
        """A hole punched (fallocate PUNCH_HOLE | KEEP_SIZE, as SPDK's AIO
        bdev unmaps): the blocks go back to the file system, and read as zeroes."""
        return self._submit_fallocate(binding.lib.SPDK_PY_FILE_UNMAP, later, offset, length)

    def write_zeroes(self, later: Any, offset: int, length: int) -> Any:
        """Zeroes without writing them (fallocate ZERO_RANGE, or a hole where
        the file system has no ZERO_RANGE)."""
        return self._submit_fallocate(binding.lib.SPDK_PY_FILE_WRITE_ZEROES, later, offset,
                                      length)

    def _submit_fallocate(self, op: int, later: Any, offset: int, length: int) -> Any:
        return self._submit(op, later, offset, length)

    def _submit(self, op: int, later: Any, offset: int, length: int = 0) -> Any:
        if self.node is None:
            raise RuntimeError("this FileIo is closed")
        ticket, buf = later.hand_over()
        self._submit_call(self.node, op, ticket, buf, offset, length)
        return later

    def close(self) -> None:
        """Never waits: the calls queued are still made, then the fd closes."""
        if self.node is not None:
            self._close_call(self.node)
            self.node = None


def can_punch(fd: int) -> bool:
    """Whether fd's file system punches holes (what unmap() does)."""
    return bool(binding.require()[1].spdk_py_file_can_punch(fd))


class FileAio(FileIo):
    """One file's calls through Linux AIO, from the hook's reactor. It owns fd.
    Linux AIO has no fallocate: unmap and write_zeroes go to one C thread."""

    def __init__(self, fd: int) -> None:
        ffi, lib = binding.require()
        self.node = lib.spdk_py_file_aio_open(fd)
        if self.node == ffi.NULL:
            raise MemoryError("could not open a file AIO")
        self._fallocator: Optional[FileIo] = None
        self._fallocator_lock = threading.Lock()  # (reactors' first unmaps may race)
        self._fd = fd

    def _submit(self, op: int, later: Any, offset: int, length: int = 0) -> Any:
        if self.node is None:
            raise RuntimeError("this FileAio is closed")
        ticket, buf = later.hand_over()
        binding.lib.spdk_py_file_aio_submit(self.node, op, ticket, buf, offset)
        return later

    def _submit_fallocate(self, op: int, later: Any, offset: int, length: int) -> Any:
        if self.node is None:
            raise RuntimeError("this FileAio is closed")
        fallocator = self._fallocator
        if fallocator is None:  # made at the first: most disks never unmap
            with self._fallocator_lock:
                if self._fallocator is None:
                    self._fallocator = FileIo(os.dup(self._fd), threads=1)
                fallocator = self._fallocator
        return fallocator._submit(op, later, offset, length)

    def close(self) -> None:
        if self.node is not None:
            binding.lib.spdk_py_file_aio_close(self.node)
            self.node = None
        if self._fallocator is not None:
            self._fallocator.close()
            self._fallocator = None
