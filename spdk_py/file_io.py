"""A file's calls for a disk's deferred I/O, made in C: in a pool of C
threads (FileIo), or through Linux AIO from the reactor (FileAio). ::

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
wake-up costs more than a cached read). ::

    self.file = FileAio(os.open(path, os.O_RDWR | os.O_DIRECT))

FileAio is what SPDK's AIO bdev does: the hook's reactor submits the call
(io_submit) and a poller of that reactor reaps it, with no thread between
(where the reactors have every core, threads would take cores from them).
For a file opened O_DIRECT: a buffered io_submit copies through the page
cache before it returns, on the reactor. Its hooks run on the reactor (not
off_reactor).
"""

from spdk_py._runtime.file_io import FileAio, FileIo, can_punch

__all__ = ["FileIo", "FileAio", "can_punch"]
