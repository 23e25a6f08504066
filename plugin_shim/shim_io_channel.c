/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Python's own I/O: an I/O channel of a descriptor Python opened, on one SPDK
 * thread, and the I/Os Python submits on it. Each completes exactly once into
 * Python, on the channel's thread, in batches: the bdev layer's completions
 * queue here and the channel's poller hands them to Python a batch at a time.
 * -ENOMEM from the bdev layer waits (spdk_bdev_queue_io_wait) and resubmits:
 * Python never sees it. A channel closes once its last I/O is delivered.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/nvme_spec.h"

static int shim_channel_poll(void *arg);

/* On the thread the channel is for. NULL if the bdev layer gives none. */
struct spdk_py_io_channel *
spdk_py_io_channel_get(struct spdk_py_bdev_desc *d, void *py)
{
	struct spdk_py_io_channel *ch;

	if (spdk_get_thread() == NULL || d->closing) {
		return NULL;
	}
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		return NULL;
	}
	ch->ch = spdk_bdev_get_io_channel(d->desc);
	if (ch->ch == NULL) {
		free(ch);
		return NULL;
	}
	ch->desc = d;
	ch->py = py;
	ch->thread = spdk_get_thread();
	TAILQ_INIT(&ch->done);
	TAILQ_INIT(&ch->spare);
	spdk_py_bdev_desc_channel_added(d);
	return ch;
}

static void
shim_channel_free(struct spdk_py_io_channel *ch)
{
	struct spdk_py_own_io *io;
	struct spdk_py_bdev_desc *d = ch->desc;
	void *py = ch->py;

	while ((io = TAILQ_FIRST(&ch->spare)) != NULL) {
		TAILQ_REMOVE(&ch->spare, io, link);
		free(io);
	}
	spdk_put_io_channel(ch->ch);
	free(ch);
	python_io_channel_closed(py);
	spdk_py_bdev_desc_channel_removed(d);
}

/* On the channel's thread: put it once its I/Os are all delivered (now if
 * none is out); python_io_channel_closed(py) then.
 */
void
spdk_py_io_channel_close(struct spdk_py_io_channel *ch)
{
	assert(spdk_get_thread() == ch->thread);
	ch->closing = true;
	if (ch->outstanding == 0 && ch->routed == 0 && ch->poller == NULL) {
		shim_channel_free(ch);
	}
}

static void
shim_channel_start_poller(struct spdk_py_io_channel *ch)
{
	if (ch->poller == NULL) {
		ch->poller = spdk_poller_register(shim_channel_poll, ch, 0);
	}
}

/* Python's I/Os wait for its next batch; C's go to their callback now. */
static void
shim_own_io_finish(struct spdk_py_own_io *io, int status)
{
	struct spdk_py_io_channel *ch = io->ch;
	spdk_py_own_io_cb cb = io->cb;

	if (cb == NULL) {
		io->status = status;
		TAILQ_INSERT_TAIL(&ch->done, io, link);
		return;
	}
	TAILQ_INSERT_HEAD(&ch->spare, io, link);
	if (--ch->routed == 0 && ch->outstanding == 0 && ch->closing) {
		shim_channel_start_poller(ch);	/* it puts the channel, outside this completion */
	}
	cb(io->cb_arg, io->tag, status);
}

/* A failed I/O's status for Python: a compare that found different data is
 * -EILSEQ, any other failure -EIO.
 */
static int
shim_failure_status(struct spdk_bdev_io *bdev_io)
{
	uint32_t cdw0;
	int sct, sc;

	spdk_bdev_io_get_nvme_status(bdev_io, &cdw0, &sct, &sc);
	if (sct == SPDK_NVME_SCT_MEDIA_ERROR && sc == SPDK_NVME_SC_COMPARE_FAILURE) {
		return -EILSEQ;
	}
	return -EIO;
}

static void
shim_own_io_done(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	int status = success ? 0 : shim_failure_status(bdev_io);

	spdk_bdev_free_io(bdev_io);
	shim_own_io_finish(cb_arg, status);
}

static int
shim_own_io_start(struct spdk_py_own_io *io)
{
	struct spdk_bdev_desc *desc = io->ch->desc->desc;
	struct spdk_io_channel *bch = io->ch->ch;
	uint64_t off = io->offset_blocks, n = io->num_blocks;

	switch (io->type) {
	case SPDK_BDEV_IO_TYPE_READ:
		return io->iovcnt > 0 ?
		       spdk_bdev_readv_blocks(desc, bch, io->iovs, io->iovcnt, off, n, shim_own_io_done, io) :
		       spdk_bdev_read_blocks(desc, bch, io->buf, off, n, shim_own_io_done, io);
	case SPDK_BDEV_IO_TYPE_WRITE:
		return io->iovcnt > 0 ?
		       spdk_bdev_writev_blocks(desc, bch, io->iovs, io->iovcnt, off, n, shim_own_io_done, io) :
		       spdk_bdev_write_blocks(desc, bch, io->buf, off, n, shim_own_io_done, io);
	case SPDK_BDEV_IO_TYPE_COMPARE:
		return io->iovcnt > 0 ?
		       spdk_bdev_comparev_blocks(desc, bch, io->iovs, io->iovcnt, off, n, shim_own_io_done,
						 io) :
		       spdk_bdev_compare_blocks(desc, bch, io->buf, off, n, shim_own_io_done, io);
	case SPDK_BDEV_IO_TYPE_UNMAP:
		return spdk_bdev_unmap_blocks(desc, bch, off, n, shim_own_io_done, io);
	case SPDK_BDEV_IO_TYPE_FLUSH:
		return spdk_bdev_flush_blocks(desc, bch, off, n, shim_own_io_done, io);
	case SPDK_BDEV_IO_TYPE_WRITE_ZEROES:
		return spdk_bdev_write_zeroes_blocks(desc, bch, off, n, shim_own_io_done, io);
	case SPDK_BDEV_IO_TYPE_RESET:
		return spdk_bdev_reset(desc, bch, shim_own_io_done, io);
	default:
		return -ENOTSUP;
	}
}

/* The bdev layer has bdev_ios again: the waiting I/O goes now. */
static void
shim_own_io_retry(void *arg)
{
	struct spdk_py_own_io *io = arg;
	int rc = shim_own_io_start(io);

	if (rc == -ENOMEM) {
		io->ch->nomem_waits++;
		rc = spdk_bdev_queue_io_wait(io->wait.bdev, io->ch->ch, &io->wait);
	}
	if (rc != 0) {
		shim_own_io_finish(io, rc);
	}
}

/* On the channel's thread. 0: the I/O is submitted (or waits for a bdev_io)
 * and python_io_channel_batch will report tag exactly once. Negative: it was
 * not (bad range, a type the bdev lacks, a closed channel) and nothing will.
 */
static int
shim_channel_submit(struct spdk_py_io_channel *ch, int type, uint64_t tag, void *buf,
		    struct iovec *iovs, int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
		    spdk_py_own_io_cb cb, void *cb_arg)
{
	struct spdk_py_own_io *io;
	int rc;

	io = TAILQ_FIRST(&ch->spare);
	if (io != NULL) {
		TAILQ_REMOVE(&ch->spare, io, link);
	} else if ((io = calloc(1, sizeof(*io))) == NULL) {
		return -ENOMEM;
	}
	io->ch = ch;
	io->tag = tag;
	io->cb = cb;
	io->cb_arg = cb_arg;
	io->type = type;
	io->buf = buf;
	io->iovs = iovs;
	io->iovcnt = iovcnt;
	io->offset_blocks = offset_blocks;
	io->num_blocks = num_blocks;
	rc = shim_own_io_start(io);
	if (rc == -ENOMEM) {
		ch->nomem_waits++;
		io->wait.bdev = ch->desc->bdev;
		io->wait.cb_fn = shim_own_io_retry;
		io->wait.cb_arg = io;
		rc = spdk_bdev_queue_io_wait(io->wait.bdev, ch->ch, &io->wait);
	}
	if (rc != 0) {
		TAILQ_INSERT_HEAD(&ch->spare, io, link);
		return rc;
	}
	if (cb != NULL) {
		ch->routed++;
	} else {
		ch->outstanding++;
	}
	ch->submitted++;
	return 0;
}

/* On the channel's thread. 0: the I/O is submitted (or waits for a bdev_io)
 * and python_io_channel_batch will report tag exactly once. Negative: it was
 * not (bad range, a type the bdev lacks, a closed channel) and nothing will.
 */
int
spdk_py_io_channel_submit(struct spdk_py_io_channel *ch, int type, uint64_t tag, void *buf,
			  struct iovec *iovs, int iovcnt, uint64_t offset_blocks,
			  uint64_t num_blocks)
{
	if (ch->closing) {
		return -ENODEV;
	}
	shim_channel_start_poller(ch);
	if (ch->poller == NULL) {
		return -ENOMEM;
	}
	return shim_channel_submit(ch, type, tag, buf, iovs, iovcnt, offset_blocks, num_blocks,
				   NULL, NULL);
}

/* C's own I/O on Python's channel (a routed child): the same, but cb(cb_arg,
 * tag, status) runs when it completes, on this thread, with no Python call.
 */
int
spdk_py_io_channel_submit_cb(struct spdk_py_io_channel *ch, int type, struct iovec *iovs,
			     int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			     spdk_py_own_io_cb cb, void *cb_arg, uint64_t tag)
{
	if (ch->closing) {
		return -ENODEV;
	}
	return shim_channel_submit(ch, type, tag, NULL, iovs, iovcnt, offset_blocks, num_blocks,
				   cb, cb_arg);
}

/* Bulk I/O: n I/Os of one type and size, each on a buffer of Python's
 * table (bufs[slots[i]], nbufs of them) at offsets[i]. Their completions go to
 * python_io_channel_bulk by slot, a batch in one call, with no per-I/O
 * Python object. Returns how many were submitted (the first n that the bdev
 * layer took): the rest, from the first refused, were not.
 */
int
spdk_py_io_channel_submit_bulk(struct spdk_py_io_channel *ch, int type, int n,
			       const uint32_t *slots, const uint64_t *offsets, uint64_t num_blocks,
			       void **bufs, uint32_t nbufs)
{
	int i;

	for (i = 0; i < n; i++) {
		if (slots[i] >= nbufs ||
		    spdk_py_io_channel_submit(ch, type, SPDK_PY_BULK_TAG | slots[i], bufs[slots[i]],
					      NULL, 0, offsets[i], num_blocks) != 0) {
			break;
		}
	}
	return i;
}

/* Completed I/Os go to Python a batch at a time (bulk ones apart, by slot);
 * once nothing is out, the poller stops (and a closing channel is put).
 */
static int
shim_channel_poll(void *arg)
{
	struct spdk_py_io_channel *ch = arg;
	struct spdk_py_own_io *io;
	int n = 0, bulk = 0, total;

	while (n + bulk < SPDK_PY_BATCH && (io = TAILQ_FIRST(&ch->done)) != NULL) {
		TAILQ_REMOVE(&ch->done, io, link);
		if (io->tag & SPDK_PY_BULK_TAG) {
			ch->bulk_slots[bulk] = (uint32_t)io->tag;
			ch->bulk_statuses[bulk++] = io->status;
		} else {
			ch->tags[n] = io->tag;
			ch->statuses[n++] = io->status;
		}
		TAILQ_INSERT_HEAD(&ch->spare, io, link);
	}
	total = n + bulk;
	ch->outstanding -= total;
	/* Python delivers each one; what it raises is logged there. */
	if (bulk > 0) {
		python_io_channel_bulk(spdk_py_thread_key(), ch->py, ch->bulk_slots, ch->bulk_statuses, bulk);
	}
	if (n > 0) {
		python_io_channel_batch(spdk_py_thread_key(), ch->py, ch->tags, ch->statuses, n);
	}
	if (ch->outstanding == 0) {
		spdk_poller_unregister(&ch->poller);
		if (ch->closing && ch->routed == 0) {
			shim_channel_free(ch);
		}
	}
	return total > 0 ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}
