"""Python's own I/O: one SPDK thread's I/O channel of an open bdev (spdk_py.bdev_desc).

Each I/O method submits on this thread and returns a Future (awaitable in a
spdk_py.coroutine task), or, given cb, calls cb(status) instead: status 0, or
a negative errno (-EIO a failed I/O, -EILSEQ a compare that found other
data). Either way it completes exactly once, on this thread. An I/O the bdev
layer refuses outright (a range past the end, a type the bdev lacks, a
read-only descriptor, a closed channel) raises IoError from the call and
never completes. -ENOMEM never reaches Python: the I/O waits for a bdev_io
(spdk_bdev_queue_io_wait) and goes when one is free.

    ch = desc.channel()
    await ch.write_blocks(buf, offset_blocks, num_blocks)
    await ch.readv_blocks([buf_a, buf_b], offset_blocks, num_blocks)
    ch.read_blocks(buf, 0, 8, cb=lambda status: ...)

Bulk I/O, for many I/Os of one size with no Python object per I/O (an I/O
generator, a scrubber): ch.bulk(buffers, on_complete) sets a table of buffers;
ch.submit_bulk(io_type, slots, offsets_blocks, num_blocks) submits one I/O per
slot (on buffers[slot], at offsets_blocks[i]) in one call; each batch of
completions is one call on_complete(slots, statuses, n), memoryviews valid
during the call. slots and offsets are any uint32 / uint64 buffers (array,
numpy).

Buffers are spdk_py.dma.Buffer (DMA-able: any bdev) or any writable buffer
(only for bdevs that do not DMA: malloc, null, a Python disk); each must hold
num_blocks * block_size bytes. The I/O holds its buffers until it completes.
Completions reach Python in batches (one call per reactor poll, whatever
their number).
"""

import errno
import itertools
import traceback

from spdk_py import dma, log
from spdk_py.bdev import IoType
from spdk_py._runtime.binding import binding
from spdk_py.coroutine import Future

# Channels C may still call, by their handles.
live = set()

READ, WRITE, COMPARE = int(IoType.READ), int(IoType.WRITE), int(IoType.COMPARE)
UNMAP, FLUSH, WRITE_ZEROES, RESET = (int(IoType.UNMAP), int(IoType.FLUSH),
                                     int(IoType.WRITE_ZEROES), int(IoType.RESET))


class IoError(OSError):
    """An I/O failed, or was refused: .errno says which."""


def _error(status, what):
    return IoError(-status, "%s: %s" % (what, errno.errorcode.get(-status, status)))


class IoChannel:
    """A bdev's I/O channel on one SPDK thread. Get it with desc.channel()."""

    def __init__(self, desc, here, here_ptr):
        ffi, lib = binding.require()
        self.desc = desc
        self.thread = here
        self.thread_ptr = here_ptr  # its struct spdk_thread, the descriptor's key
        self.block_size = desc.block_size
        self.exceptions = 0  # raised by this channel's completion callbacks
        self._pending = {}   # tag -> (Future or callback, what the I/O holds)
        self._tags = itertools.count(1)
        self._handle = ffi.new_handle(self)
        self.ptr = lib.spdk_py_io_channel_get(desc.ptr, self._handle)
        if self.ptr == ffi.NULL:
            raise IoError(errno.ENOMEM, "no I/O channel of bdev %s on %s"
                          % (desc.name, here.name))
        self.closing = False
        self._closed = Future()
        self._bulk = None  # (on_complete, buffers, their pointers, the smallest size)
        self.bulk_outstanding = 0
        live.add(self)

    @property
    def outstanding(self):
        """I/Os submitted here and not completed yet."""
        return len(self._pending) + self.bulk_outstanding

    def stats(self):
        return {"submitted": int(self.ptr.submitted), "outstanding": self.outstanding,
                "nomem_waits": int(self.ptr.nomem_waits), "exceptions": self.exceptions}

    # The I/O types.
    def read_blocks(self, buf, offset_blocks, num_blocks, cb=None):
        return self._data(READ, buf, offset_blocks, num_blocks, cb, True)

    def write_blocks(self, buf, offset_blocks, num_blocks, cb=None):
        return self._data(WRITE, buf, offset_blocks, num_blocks, cb, False)

    def compare_blocks(self, buf, offset_blocks, num_blocks, cb=None):
        return self._data(COMPARE, buf, offset_blocks, num_blocks, cb, False)

    def readv_blocks(self, bufs, offset_blocks, num_blocks, cb=None):
        return self._vectored(READ, bufs, offset_blocks, num_blocks, cb, True)

    def writev_blocks(self, bufs, offset_blocks, num_blocks, cb=None):
        return self._vectored(WRITE, bufs, offset_blocks, num_blocks, cb, False)

    def comparev_blocks(self, bufs, offset_blocks, num_blocks, cb=None):
        return self._vectored(COMPARE, bufs, offset_blocks, num_blocks, cb, False)

    def unmap_blocks(self, offset_blocks, num_blocks, cb=None):
        return self._submit(UNMAP, binding.ffi.NULL, None, offset_blocks, num_blocks, cb)

    def flush_blocks(self, offset_blocks, num_blocks, cb=None):
        return self._submit(FLUSH, binding.ffi.NULL, None, offset_blocks, num_blocks, cb)

    def write_zeroes_blocks(self, offset_blocks, num_blocks, cb=None):
        return self._submit(WRITE_ZEROES, binding.ffi.NULL, None, offset_blocks, num_blocks, cb)

    def reset(self, cb=None):
        return self._submit(RESET, binding.ffi.NULL, None, 0, 0, cb)

    # Submission.
    def _pointer(self, buf, writable, need):
        if isinstance(buf, dma.Buffer):
            size, ptr = buf.size, buf.ptr
        else:
            ptr = binding.ffi.from_buffer(buf, require_writable=writable)
            size = len(ptr)
        if size < need:
            raise ValueError("a buffer of %d bytes for an I/O of %d" % (size, need))
        return ptr

    def _data(self, io_type, buf, offset_blocks, num_blocks, cb, writable):
        ptr = self._pointer(buf, writable, num_blocks * self.block_size)
        return self._submit(io_type, ptr, (buf, ptr), offset_blocks, num_blocks, cb)

    def _vectored(self, io_type, bufs, offset_blocks, num_blocks, cb, writable):
        ffi = binding.ffi
        ptrs = [self._pointer(b, writable, 0) for b in bufs]
        sizes = [b.size if isinstance(b, dma.Buffer) else len(p) for b, p in zip(bufs, ptrs)]
        if sum(sizes) < num_blocks * self.block_size:
            raise ValueError("buffers of %d bytes for an I/O of %d"
                             % (sum(sizes), num_blocks * self.block_size))
        iovs = ffi.new("struct iovec[]", len(ptrs))
        for iov, ptr, size in zip(iovs, ptrs, sizes):
            iov.iov_base = ptr
            iov.iov_len = size
        return self._submit(io_type, ffi.NULL, (bufs, ptrs, iovs), offset_blocks, num_blocks,
                            cb, iovs, len(ptrs))

    def _submit(self, io_type, ptr, holds, offset_blocks, num_blocks, cb, iovs=None, iovcnt=0):
        ffi, lib = binding.ffi, binding.lib
        tag = next(self._tags)
        rc = lib.spdk_py_io_channel_submit(self.ptr, io_type, tag, ptr,
                                           ffi.NULL if iovs is None else iovs, iovcnt,
                                           offset_blocks, num_blocks)
        if rc != 0:
            raise _error(rc, "%s of %d blocks at %d on %s refused" % (
                IoType(io_type).name.lower(), num_blocks, offset_blocks, self.desc.name))
        target = Future() if cb is None else cb
        self._pending[tag] = (target, holds)
        return target if cb is None else None

    def batch(self, tags, statuses, n):
        """C's call: n I/Os of this channel completed."""
        pending = self._pending
        for i in range(n):
            target, _ = pending.pop(tags[i])
            status = statuses[i]
            if type(target) is Future:
                if status == 0:
                    target.set_result(None)
                else:
                    target.set_exception(_error(status, "I/O on %s failed" % self.desc.name))
                continue
            try:
                target(status)
            except Exception:
                self.exceptions += 1
                log.error("I/O callback %r on %s raised:\n%s"
                          % (target, self.desc.name, traceback.format_exc()))

    # Bulk I/O.
    def bulk(self, buffers, on_complete):
        """The buffer table of bulk I/Os, and on_complete(slots, statuses, n)."""
        if self.bulk_outstanding:
            raise RuntimeError("bulk I/Os are out on %r: the table stays" % self)
        ffi = binding.ffi
        ptrs = [self._pointer(b, True, 0) for b in buffers]
        sizes = [b.size if isinstance(b, dma.Buffer) else len(p) for b, p in zip(buffers, ptrs)]
        self._bulk = (on_complete, list(buffers), ffi.new("void *[]", ptrs), min(sizes), ptrs)

    def submit_bulk(self, io_type, slots, offsets_blocks, num_blocks):
        """One I/O per slot; IoError if the bdev layer refused one (those
        before it are out, and complete)."""
        ffi, lib = binding.ffi, binding.lib
        if self._bulk is None:
            raise RuntimeError("no bulk buffer table on %r: call bulk() first" % self)
        _, buffers, table, smallest, _ = self._bulk
        if num_blocks * self.block_size > smallest:
            raise ValueError("bulk buffers of %d bytes for I/Os of %d"
                             % (smallest, num_blocks * self.block_size))
        slot_ptr = ffi.from_buffer("uint32_t[]", slots)
        offset_ptr = ffi.from_buffer("uint64_t[]", offsets_blocks)
        n = len(slot_ptr)
        if len(offset_ptr) < n:
            raise ValueError("%d offsets for %d slots" % (len(offset_ptr), n))
        done = lib.spdk_py_io_channel_submit_bulk(self.ptr, int(io_type), n, slot_ptr,
                                                  offset_ptr, num_blocks, table, len(buffers))
        self.bulk_outstanding += done
        if done < n:
            raise IoError(errno.EINVAL, "bulk %s: %d of %d submitted on %s; slot %d at %d "
                          "refused" % (IoType(io_type).name.lower(), done, n, self.desc.name,
                                       slot_ptr[done], offset_ptr[done]))
        return n

    def bulk_batch(self, slots, statuses, n):
        """C's call: n bulk I/Os completed."""
        self.bulk_outstanding -= n
        ffi = binding.ffi
        try:
            self._bulk[0](memoryview(ffi.buffer(slots, 4 * n)).cast("I"),
                          memoryview(ffi.buffer(statuses, 4 * n)).cast("i"), n)
        except Exception:
            self.exceptions += 1
            log.error("bulk completion handler on %s raised:\n%s"
                      % (self.desc.name, traceback.format_exc()))

    # Closing.
    def close(self):
        """On this thread: refuse new I/Os, and put the channel once those out
        complete; a Future done then."""
        if not self.closing:
            self.closing = True
            binding.lib.spdk_py_io_channel_close(self.ptr)
        return self._closed

    def closed(self):
        """C's call: the channel is put."""
        self.ptr = None
        live.discard(self)
        self.desc.channel_closed(self)
        self._closed.set_result(None)

    def __repr__(self):
        return "<IoChannel %s on %s>" % (self.desc.name, self.thread.name)
