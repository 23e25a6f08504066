"""A file disk whose blocking calls run in Python workers, each spinning in
pure Python (holding the GIL) for spin_us before its I/O, as an object-store
client's parsing would. For measuring how long a reactor waits to enter
Python behind a busy worker pool.

params: path, workers (8), spin_us (1000).
"""

import os
import time

from spdk_py import workers
from spdk_py.disk import Disk


class BusyFileDisk(Disk):
    def open(self, params):
        self.spin_s = params.get("spin_us", 1000) / 1e6
        self.fd = os.open(params["path"], os.O_RDWR | os.O_CREAT, 0o644)
        size = self.num_blocks * self.block_size
        if os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        self.pool = workers.Pool(int(params.get("workers", 8)), self.name, done=os.close,
                                 done_args=(self.fd,))

    def close(self):
        self.pool.close()

    def read(self, io, offset, buf):
        later = self.later(io)
        self.pool.put(self._transfer, os.preadv, later, offset)
        return later

    def write(self, io, offset, buf):
        later = self.later(io)
        self.pool.put(self._transfer, os.pwritev, later, offset)
        return later

    def _transfer(self, call, later, offset):
        deadline = time.perf_counter() + self.spin_s
        while time.perf_counter() < deadline:
            pass
        try:
            done = call(self.fd, [later.buffer], offset) == len(later.buffer)
        except OSError:
            done = False
        later.done() if done else later.fail()


class OffReactorBusyFileDisk(BusyFileDisk):
    """The same, its hooks on spdk_py's Python thread (Disk.off_reactor)."""
    off_reactor = True
