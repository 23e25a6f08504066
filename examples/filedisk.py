"""A file-backed disk written in Python: asynchronous, its blocking calls in
a thread pool, so the reactor never waits for the file system.

    bdev_python_disk_create {"name": "FileDisk0", "plugin": "examples.filedisk:FileDisk",
                             "num_blocks": 131072, "params": {"path": "/tmp/disk.img"}}

params: path (required), threads (32), direct (false: O_DIRECT if true).

Each hook takes a Later for its I/O and hands it to the pool's C threads
(spdk_py.file_io), which make the preadv/pwritev/fdatasync on the I/O's
buffer and complete it on its own SPDK thread. What SPDK's AIO bdev does
with libaio; the hook is where a Python disk decides (here: the offset).
"""

import os

from spdk_py.disk import Disk
from spdk_py.file_io import FileIo


class FileDisk(Disk):
    product_name = "Python file disk"

    def open(self, params):
        unknown = set(params) - {"path", "threads", "direct"}
        if unknown or "path" not in params:
            raise ValueError("params are path (required), threads and direct, not %s"
                             % ", ".join(sorted(unknown)) if unknown else "params need a path")
        self.path = params["path"]
        # direct: O_DIRECT, as SPDK's AIO bdev opens its file (later.buffer is
        # page-aligned for it).
        flags = os.O_RDWR | os.O_CREAT | (os.O_DIRECT if params.get("direct") else 0)
        fd = os.open(self.path, flags, 0o644)
        try:
            size = self.num_blocks * self.block_size
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            # The pool owns fd: its last thread closes it, so a late call
            # never meets a reused descriptor.
            self.file = FileIo(fd, int(params.get("threads", 32)))
        except BaseException:
            os.close(fd)
            raise

    def close(self):
        self.file.close()  # never waits

    def info(self):
        return {"path": self.path}

    def read(self, io, offset, buf):
        return self.file.read(self.later(io), offset)

    def write(self, io, offset, buf):
        return self.file.write(self.later(io), offset)

    def flush(self, io, offset, length):
        return self.file.flush(self.later(io))
