"""Python's own I/O: one SPDK thread's I/O channel of an open bdev (spdk_py.bdev_desc).

Each I/O method submits on this thread and returns a Future (awaitable in a
spdk_py.coroutine task), or, given cb, calls cb(status) instead: status 0, or
a negative errno (-EIO a failed I/O, -EILSEQ a compare that found other
data). Either way it completes exactly once, on this thread. An I/O the bdev
layer refuses outright (a range past the end, a type the bdev lacks, a
read-only descriptor, a closed channel) raises IoError from the call and
never completes. -ENOMEM never reaches Python: the I/O waits for a bdev_io
(spdk_bdev_queue_io_wait) and goes when one is free. ::

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

from spdk_py._runtime.errors import IoError
from spdk_py._runtime.io_channel import IoChannel

__all__ = ["IoChannel", "IoError"]
