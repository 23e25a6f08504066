/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * How a disk's I/O ends. Now: Python's status from its batch, completed by
 * C (a read's data copied from a buffer of ours first, if it had one). Or
 * later: Python takes a ticket and completes the I/O from any thread
 * (shim_deferred.c carries the ticket to the I/O's thread); the I/O works on
 * a buffer of its own, held by the I/O and by Python, so a worker that
 * finishes after a timeout writes into that, never into buffers the I/O gave
 * back. A deferred I/O is listed as pending on its channel, where a timer
 * fails it past the disk's timeout and a delete fails it at once.
 */

#include "shim_internal.h"
#include "spdk/env.h"
#include "spdk/log.h"
#include "spdk/util.h"

/* How often a channel with pending I/Os looks for timed out ones. */
#define SHIM_DISK_TIMER_US	1000

/* A read's data, from a buffer of ours into the caller's iovecs. */
static void
shim_copy_to_iovs(struct spdk_bdev_io *bdev_io, const uint8_t *src, size_t len)
{
	struct iovec *iov = bdev_io->u.bdev.iovs;
	size_t n;
	int i;

	for (i = 0; i < bdev_io->u.bdev.iovcnt && len > 0; i++) {
		n = spdk_min(len, iov[i].iov_len);
		memcpy(iov[i].iov_base, src, n);
		src += n;
		len -= n;
	}
}

/* The caller's iovecs into one buffer of ours: a write's or compare's data
 * for a deferred I/O, or for a scattered one (Python sees one buffer).
 */
void
spdk_py_copy_from_iovs(struct spdk_bdev_io *bdev_io, uint8_t *dst, size_t len)
{
	struct iovec *iov = bdev_io->u.bdev.iovs;
	size_t n;
	int i;

	for (i = 0; i < bdev_io->u.bdev.iovcnt && len > 0; i++) {
		n = spdk_min(len, iov[i].iov_len);
		memcpy(dst, iov[i].iov_base, n);
		dst += n;
		len -= n;
	}
}

/* One reference fewer (the I/O's, or Python's): the last frees the buffer. */
static void
shim_later_buf_put(struct spdk_py_later_buf *buf)
{
	if (__atomic_sub_fetch(&buf->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		spdk_dma_free(buf->data);
		free(buf);
	}
}

/* Python's reference to a deferred I/O's buffer, given back after it
 * completed the I/O (its worker touches the buffer no more).
 */
void
spdk_py_later_buf_put(struct spdk_py_later_buf *buf)
{
	shim_later_buf_put(buf);
}

/* Complete once: a read's data goes from a buffer of ours (a deferred I/O's,
 * or the contiguous one a scattered I/O was given) to the caller's first.
 */
void
spdk_py_disk_complete(struct spdk_bdev_io *bdev_io, int status)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	bool read_ok = bdev_io->type == SPDK_BDEV_IO_TYPE_READ &&
		       status == SPDK_BDEV_IO_STATUS_SUCCESS;

	if (io->later_buf != NULL) {
		if (read_ok) {
			shim_copy_to_iovs(bdev_io, io->later_buf->data, io->later_buf->len);
		}
		shim_later_buf_put(io->later_buf);
		io->later_buf = NULL;
	} else if (io->bounce != NULL && read_ok) {
		shim_copy_to_iovs(bdev_io, io->bounce, io->bounce_len);
	}
	free(io->bounce);
	io->bounce = NULL;
	if (io->state == SHIM_DISK_PENDING) {
		TAILQ_REMOVE(&io->ch->pending, io, link);
		io->ch->pending_count--;
	}
	if (bdev_io->type != SPDK_BDEV_IO_TYPE_RESET) {
		io->ch->inflight--;
	}
	io->state = SHIM_DISK_DONE;
	spdk_bdev_io_complete(bdev_io, status);
}

/* A ticket's completion arrived on this thread. */
static void
shim_disk_deferred_done(void *ctx, int status)
{
	struct spdk_py_disk_io *io = shim_disk_io(ctx);

	if (io->state == SHIM_DISK_KEPT_AWAY) {
		io->state = SHIM_DISK_DONE_AWAY;	/* before its batch: that completes it */
		io->early_status = status;
		return;
	}
	spdk_py_disk_complete(ctx, status);
}

/* Fail pending I/Os: those past their deadline, or all of them (delete). */
int
spdk_py_disk_fail_pending(struct spdk_py_disk_channel *ch, bool all, const char *why)
{
	struct spdk_py_disk_io *io, *tmp;
	uint64_t now = spdk_get_ticks();
	int n = 0;

	TAILQ_FOREACH_SAFE(io, &ch->pending, link, tmp) {
		if (!all && (io->deadline == 0 || io->deadline > now)) {
			continue;
		}
		if (spdk_py_deferred_cancel(&io->deferred)) {
			n++;
			spdk_py_disk_complete(spdk_bdev_io_from_ctx(io), SPDK_BDEV_IO_STATUS_FAILED);
		}
	}
	if (n > 0) {
		SPDK_ERRLOG("%s: failed %d I/O(s) Python had not completed: %s\n",
			    ch->disk->bdev.name, n, why);
	}
	return n;
}

/* The channel's timer, while I/Os are pending: those past their deadline fail. */
static int
shim_disk_expire(void *arg)
{
	struct spdk_py_disk_channel *ch = arg;
	int n = spdk_py_disk_fail_pending(ch, false, "timed out");

	ch->timed_out += n;
	if (TAILQ_EMPTY(&ch->pending)) {
		spdk_poller_unregister(&ch->timer);
	}
	return n ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* On the I/O's thread: pending, and failed past its deadline. */
void
spdk_py_disk_track_pending(struct spdk_py_disk_channel *ch, struct spdk_py_disk_io *io)
{
	io->state = SHIM_DISK_PENDING;
	TAILQ_INSERT_TAIL(&ch->pending, io, link);
	ch->pending_count++;
	if (ch->timer == NULL && ch->disk->timeout_us) {
		ch->timer = spdk_poller_register(shim_disk_expire, ch, SHIM_DISK_TIMER_US);
	}
}

/* Python keeps this I/O past its batch: a ticket to complete it with, from
 * any thread (spdk_py_deferred_complete), or 0 if it is not Python's to keep
 * (or no memory). Called where the batch runs: the I/O's thread, or the
 * Python thread (the I/O is listed as pending when the batch is back). An
 * I/O with data gets a buffer of its own in *buf (the data of a write or
 * compare copied in; a read's copied out when it completes): a worker that
 * finishes after a timeout writes into that, never into buffers the I/O gave
 * back. Python puts its reference once it has completed the I/O
 * (spdk_py_later_buf_put).
 */
uint64_t
spdk_py_disk_defer(struct spdk_bdev_io *bdev_io, struct spdk_py_later_buf **buf)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	struct spdk_py_disk_channel *ch = io->ch;
	size_t len;

	*buf = NULL;
	if (io->state != SHIM_DISK_IN_PYTHON) {
		return 0;
	}
	if (shim_disk_has_data(bdev_io)) {
		len = bdev_io->u.bdev.num_blocks * bdev_io->bdev->blocklen;
		io->later_buf = calloc(1, sizeof(*io->later_buf));
		if (io->later_buf == NULL) {
			return 0;
		}
		/* DMA memory: the work may be child I/O to a device (a mirror's NVMe
		 * base); page-aligned for a worker's O_DIRECT.
		 */
		io->later_buf->data = spdk_dma_malloc(len, 0x1000, NULL);
		if (io->later_buf->data == NULL) {
			free(io->later_buf);
			io->later_buf = NULL;
			return 0;
		}
		io->later_buf->refs = 2;	/* the I/O's, and Python's */
		io->later_buf->len = len;
		if (bdev_io->type != SPDK_BDEV_IO_TYPE_READ) {
			spdk_py_copy_from_iovs(bdev_io, io->later_buf->data, len);
		}
		*buf = io->later_buf;
	}
	io->deadline = ch->disk->timeout_us ?
		       spdk_get_ticks() + ch->disk->timeout_us * spdk_get_ticks_hz() / 1000000 : 0;
	if (ch->away) {
		io->state = SHIM_DISK_KEPT_AWAY;
	} else {
		spdk_py_disk_track_pending(ch, io);
	}
	return spdk_py_deferred_add(&io->deferred, ch->thread, shim_disk_deferred_done, bdev_io);
}

/* The channel goes (its destroy callback). The bdev layer puts a channel once
 * its I/Os are done; one still pending here was abandoned above us: its ticket
 * is cancelled, not completed into a channel that is gone.
 */
void
spdk_py_disk_drop_pending(struct spdk_py_disk_channel *ch)
{
	struct spdk_py_disk_io *io;

	while ((io = TAILQ_FIRST(&ch->pending)) != NULL) {
		TAILQ_REMOVE(&ch->pending, io, link);
		spdk_py_deferred_cancel(&io->deferred);
		if (io->later_buf != NULL) {
			shim_later_buf_put(io->later_buf);
			io->later_buf = NULL;
		}
		SPDK_ERRLOG("%s: an I/O still pending when its channel went away; dropped\n",
			    ch->disk->bdev.name);
	}
	spdk_poller_unregister(&ch->timer);
}
