"""Python's own I/O on one SPDK thread's channel of an open bdev, and its
completions in batches (spdk_py.io_channel documents it for module authors)."""

from __future__ import annotations


import errno
import itertools
import traceback
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, overload

from spdk_py._runtime import handles, log
from spdk_py._runtime.bdev import (COMPARE, FLUSH, READ, RESET, UNMAP, WRITE, WRITE_ZEROES,
                                   io_type_name)
from spdk_py._runtime.binding import binding
from spdk_py._runtime.dma import Buffer
from spdk_py._runtime.errors import IoError, io_error as _error
from spdk_py._runtime.tasks import Future, new_future

if TYPE_CHECKING:
    from spdk_py._runtime.thread import Thread

StatusCallback = Callable[[int], Any]
# A buffer: a dma.Buffer (any bdev), or any writable buffer (bdevs that do not DMA).
Buf = Any


class IoChannel:
    """A bdev's I/O channel on one SPDK thread. Get it with desc.channel()."""

    def __init__(self, desc: Any, here: "Thread", here_ptr: Any) -> None:
        # desc: the BdevDesc the channel is of (which imports this module).
        ffi, lib = binding.require()
        self.desc = desc
        self.thread = here
        self.thread_ptr = here_ptr  # its struct spdk_thread, the descriptor's key
        self.block_size = desc.block_size
        self.exceptions = 0  # raised by this channel's completion callbacks
        self._pending: dict[int, tuple[Any, Any]] = {}  # tag -> (Future or cb, what it holds)
        self._tags = itertools.count(1)
        self.ptr: Any = lib.spdk_py_io_channel_get(desc.ptr, handles.keep(self))
        if self.ptr == ffi.NULL:
            handles.release(self)
            raise IoError(errno.ENOMEM, "no I/O channel of bdev %s on %s"
                          % (desc.name, here.name))
        self.closing = False
        self._closed = new_future()
        self._bulk: Optional[tuple] = None  # (on_complete, buffers, table, smallest, pointers)
        self.bulk_outstanding = 0

    @property
    def outstanding(self) -> int:
        """I/Os submitted here and not completed yet."""
        return len(self._pending) + self.bulk_outstanding

    def stats(self) -> dict[str, int]:
        return {"submitted": int(self.ptr.submitted), "outstanding": self.outstanding,
                "nomem_waits": int(self.ptr.nomem_waits), "exceptions": self.exceptions}

    # The I/O types.
    @overload
    def read_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def read_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def read_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int,
                    cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._data(READ, buf, offset_blocks, num_blocks, cb, True)

    @overload
    def write_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def write_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def write_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int,
                     cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._data(WRITE, buf, offset_blocks, num_blocks, cb, False)

    @overload
    def compare_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def compare_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def compare_blocks(self, buf: Buf, offset_blocks: int, num_blocks: int,
                       cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._data(COMPARE, buf, offset_blocks, num_blocks, cb, False)

    @overload
    def readv_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def readv_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def readv_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int,
                     cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._vectored(READ, bufs, offset_blocks, num_blocks, cb, True)

    @overload
    def writev_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def writev_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def writev_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int,
                      cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._vectored(WRITE, bufs, offset_blocks, num_blocks, cb, False)

    @overload
    def comparev_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def comparev_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def comparev_blocks(self, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int,
                        cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._vectored(COMPARE, bufs, offset_blocks, num_blocks, cb, False)

    @overload
    def unmap_blocks(self, offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def unmap_blocks(self, offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def unmap_blocks(self, offset_blocks: int, num_blocks: int,
                     cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._submit(UNMAP, binding.ffi.NULL, None, offset_blocks, num_blocks, cb)

    @overload
    def flush_blocks(self, offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def flush_blocks(self, offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def flush_blocks(self, offset_blocks: int, num_blocks: int,
                     cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._submit(FLUSH, binding.ffi.NULL, None, offset_blocks, num_blocks, cb)

    @overload
    def write_zeroes_blocks(self, offset_blocks: int, num_blocks: int, cb: None = None) -> Future: ...

    @overload
    def write_zeroes_blocks(self, offset_blocks: int, num_blocks: int, cb: StatusCallback) -> None: ...

    def write_zeroes_blocks(self, offset_blocks: int, num_blocks: int,
                            cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._submit(WRITE_ZEROES, binding.ffi.NULL, None, offset_blocks, num_blocks, cb)

    @overload
    def reset(self, cb: None = None) -> Future: ...

    @overload
    def reset(self, cb: StatusCallback) -> None: ...

    def reset(self, cb: Optional[StatusCallback] = None) -> Optional[Future]:
        return self._submit(RESET, binding.ffi.NULL, None, 0, 0, cb)

    # Submission.
    def _pointer(self, buf: Buf, writable: bool, need: int) -> Any:
        if isinstance(buf, Buffer):
            size, ptr = buf.size, buf.ptr
        else:
            ptr = binding.ffi.from_buffer(buf, require_writable=writable)
            size = len(ptr)
        if size < need:
            raise ValueError("a buffer of %d bytes for an I/O of %d" % (size, need))
        return ptr

    def _data(self, io_type: int, buf: Buf, offset_blocks: int, num_blocks: int,
              cb: Optional[StatusCallback], writable: bool) -> Optional[Future]:
        ptr = self._pointer(buf, writable, num_blocks * self.block_size)
        return self._submit(io_type, ptr, (buf, ptr), offset_blocks, num_blocks, cb)

    def _vectored(self, io_type: int, bufs: Sequence[Buf], offset_blocks: int, num_blocks: int,
                  cb: Optional[StatusCallback], writable: bool) -> Optional[Future]:
        ffi = binding.ffi
        ptrs = [self._pointer(b, writable, 0) for b in bufs]
        sizes = [b.size if isinstance(b, Buffer) else len(p) for b, p in zip(bufs, ptrs)]
        if sum(sizes) < num_blocks * self.block_size:
            raise ValueError("buffers of %d bytes for an I/O of %d"
                             % (sum(sizes), num_blocks * self.block_size))
        iovs = ffi.new("struct iovec[]", len(ptrs))
        for iov, ptr, size in zip(iovs, ptrs, sizes):
            iov.iov_base = ptr
            iov.iov_len = size
        return self._submit(io_type, ffi.NULL, (bufs, ptrs, iovs), offset_blocks, num_blocks,
                            cb, iovs, len(ptrs))

    def _submit(self, io_type: int, ptr: Any, holds: Any, offset_blocks: int, num_blocks: int,
                cb: Optional[StatusCallback], iovs: Any = None,
                iovcnt: int = 0) -> Optional[Future]:
        ffi, lib = binding.ffi, binding.lib
        tag = next(self._tags)
        rc = lib.spdk_py_io_channel_submit(self.ptr, io_type, tag, ptr,
                                           ffi.NULL if iovs is None else iovs, iovcnt,
                                           offset_blocks, num_blocks)
        if rc != 0:
            raise _error(rc, "%s of %d blocks at %d on %s refused" % (
                io_type_name(io_type).lower(), num_blocks, offset_blocks, self.desc.name))
        target: Any = new_future() if cb is None else cb
        self._pending[tag] = (target, holds)
        return target if cb is None else None

    def batch(self, tags: Any, statuses: Any, n: int) -> None:
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
    def bulk(self, buffers: Sequence[Buf],
             on_complete: Callable[[memoryview, memoryview, int], Any]) -> None:
        """The buffer table of bulk I/Os, and on_complete(slots, statuses, n)."""
        if self.bulk_outstanding:
            raise RuntimeError("bulk I/Os are out on %r: the table stays" % self)
        ffi = binding.ffi
        ptrs = [self._pointer(b, True, 0) for b in buffers]
        sizes = [b.size if isinstance(b, Buffer) else len(p) for b, p in zip(buffers, ptrs)]
        self._bulk = (on_complete, list(buffers), ffi.new("void *[]", ptrs), min(sizes), ptrs)

    def submit_bulk(self, io_type: int, slots: Any, offsets_blocks: Any, num_blocks: int) -> int:
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
                          "refused" % (io_type_name(io_type).lower(), done, n, self.desc.name,
                                       slot_ptr[done], offset_ptr[done]))
        return n

    def bulk_batch(self, slots: Any, statuses: Any, n: int) -> None:
        """C's call: n bulk I/Os completed."""
        self.bulk_outstanding -= n
        ffi = binding.ffi
        assert self._bulk is not None
        try:
            self._bulk[0](memoryview(ffi.buffer(slots, 4 * n)).cast("I"),
                          memoryview(ffi.buffer(statuses, 4 * n)).cast("i"), n)
        except Exception:
            self.exceptions += 1
            log.error("bulk completion handler on %s raised:\n%s"
                      % (self.desc.name, traceback.format_exc()))

    # Closing.
    def close(self) -> Future:
        """On this thread: refuse new I/Os, and put the channel once those out
        complete; a Future done then."""
        if not self.closing:
            self.closing = True
            binding.lib.spdk_py_io_channel_close(self.ptr)
        return self._closed

    def closed(self) -> None:
        """C's call: the channel is put."""
        self.ptr = None
        handles.release(self)
        self.desc.channel_closed(self)
        self._closed.set_result(None)

    def __repr__(self) -> str:
        return "<IoChannel %s on %s>" % (self.desc.name, self.thread.name)
