"""A file-backed disk written in Python: asynchronous, its calls made in C
(Linux AIO from the reactor, or a pool of C threads), so the reactor never
waits for the file system. ::

    bdev_python_disk_create {"name": "FileDisk0", "plugin": "examples.filedisk:FileDisk",
                             "num_blocks": 131072, "params": {"path": "/tmp/disk.img"}}

params: path (required), direct (false: O_DIRECT if true), engine ("aio"
for a direct file, else "threads"), threads (32, for the threads engine).

Each hook takes a Later for its I/O and hands it to C (spdk_py.file_io):
with "aio", the reactor submits it to Linux AIO and its poller completes it,
as SPDK's AIO bdev does; with "threads", a pool's C threads make the
preadv/pwritev/fdatasync (a buffered file's calls block). Either way on the
I/O's buffer, completed on its own SPDK thread; the hook is where a Python
disk decides (here: the offset). Unmap punches a hole and write_zeroes zeroes
a range (fallocate, in a C thread for either engine), so an unmapped block
reads back as zeroes and the file's allocated blocks shrink.
"""

from __future__ import annotations

import os
from typing import Any, Union

from spdk_py.disk import Disk, Later
from spdk_py.file_io import FileAio, FileIo, can_punch

PARAMS = {"path", "direct", "engine", "threads"}


class FileDisk(Disk):
    product_name = "Python file disk"

    def open(self, params: dict) -> None:
        unknown = set(params) - PARAMS
        if unknown or "path" not in params:
            raise ValueError("params are %s (path required), not %s"
                             % (", ".join(sorted(PARAMS)), ", ".join(sorted(unknown)))
                             if unknown else "params need a path")
        self.path = params["path"]
        direct = bool(params.get("direct"))
        self.engine = params.get("engine", "aio" if direct else "threads")
        if self.engine not in ("aio", "threads"):
            raise ValueError("engine is aio or threads, not %r" % self.engine)
        if self.engine == "aio" and not direct:
            raise ValueError("engine aio needs direct: a buffered io_submit blocks the reactor")
        # direct: O_DIRECT, as SPDK's AIO bdev opens its file (later.buffer is
        # page-aligned for it).
        flags = os.O_RDWR | os.O_CREAT | (os.O_DIRECT if direct else 0)
        fd = os.open(self.path, flags, 0o644)
        try:
            size = self.num_blocks * self.block_size
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            if not can_punch(fd):
                self.unmap = self.write_zeroes = None  # type: ignore[method-assign,assignment]
            # The engine owns fd: it closes it when no call can use it, so a
            # late call never meets a reused descriptor.
            self.file: Union[FileAio, FileIo] = (FileAio(fd) if self.engine == "aio"
                         else FileIo(fd, int(params.get("threads", 32))))
        except BaseException:
            os.close(fd)
            raise

    def close(self) -> None:
        self.file.close()  # never waits

    def info(self) -> dict[str, Any]:
        return {"path": self.path, "engine": self.engine}

    def read(self, io: int, offset: int, buf: Any) -> Later:
        return self.file.read(self.later(io), offset)

    def write(self, io: int, offset: int, buf: Any) -> Later:
        return self.file.write(self.later(io), offset)

    def flush(self, io: int, offset: int, length: int) -> Later:
        return self.file.flush(self.later(io))

    # A hole punched, as SPDK's AIO bdev unmaps: the file gives the blocks
    # back, and they read as zeroes. Both None where the file system cannot.
    def unmap(self, io: int, offset: int, length: int) -> Later:
        return self.file.unmap(self.later(io), offset, length)

    def write_zeroes(self, io: int, offset: int, length: int) -> Later:
        return self.file.write_zeroes(self.later(io), offset, length)
