"""A file-backed disk written in Python: asynchronous, its blocking calls in
a thread pool, so the reactor never waits for the file system.

    bdev_python_disk_create {"name": "FileDisk0", "plugin": "examples.filedisk:FileDisk",
                             "num_blocks": 131072, "params": {"path": "/tmp/disk.img"}}

params: path (required), workers (4), direct (false: O_DIRECT if true).

Each hook takes a Later for its I/O, hands the work to a worker, and returns;
the worker's preadv/pwritev/fsync release the GIL, and its later.done()
completes the I/O on its own SPDK thread. What SPDK's AIO bdev does with
libaio, in Python threads.
"""

import os

from spdk_py import workers
from spdk_py.disk import Disk


class FileDisk(Disk):
    product_name = "Python file disk"

    def open(self, params):
        unknown = set(params) - {"path", "workers", "direct"}
        if unknown or "path" not in params:
            raise ValueError("params are path (required), workers and direct, not %s"
                             % ", ".join(sorted(unknown)) if unknown else "params need a path")
        self.path = params["path"]
        # direct: O_DIRECT, as SPDK's AIO bdev opens its file (later.buffer is
        # page-aligned for it).
        flags = os.O_RDWR | os.O_CREAT | (os.O_DIRECT if params.get("direct") else 0)
        self.fd = os.open(self.path, flags, 0o644)
        size = self.num_blocks * self.block_size
        if os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        # Blocking calls run in workers on the cores no reactor uses (each
        # releases the GIL); the last worker out closes the file, so a late
        # call never meets a reused descriptor.
        self.pool = workers.Pool(int(params.get("workers", 4)), self.name, done=os.close,
                                 done_args=(self.fd,))

    def close(self):
        self.pool.close()  # never waits

    def info(self):
        return {"path": self.path}

    def read(self, io, offset, buf):
        later = self.later(io)
        self.pool.put(self._transfer, os.preadv, later, offset)
        return later

    def write(self, io, offset, buf):
        later = self.later(io)
        self.pool.put(self._transfer, os.pwritev, later, offset)
        return later

    def flush(self, io, offset, length):
        later = self.later(io)
        self.pool.put(self._flush, later)
        return later

    def _transfer(self, call, later, offset):
        try:
            done = call(self.fd, [later.buffer], offset) == len(later.buffer)
        except OSError:
            done = False
        later.done() if done else later.fail()

    def _flush(self, later):
        try:
            os.fsync(self.fd)
        except OSError:
            later.fail()
            return
        later.done()
