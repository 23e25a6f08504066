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
		spdk_py_kept_list_remove(&io->ch->kept, &io->kept);
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

/* On the I/O's thread: pending, and failed past its deadline. */
void
spdk_py_disk_track_pending(struct spdk_py_disk_channel *ch, struct spdk_py_disk_io *io)
{
	io->state = SHIM_DISK_PENDING;
	spdk_py_kept_list_add(&ch->kept, &io->kept);
}

static inline struct spdk_bdev_io *
shim_disk_kept_io(struct spdk_py_kept *kept)
{
	return spdk_bdev_io_from_ctx(SPDK_CONTAINEROF(kept, struct spdk_py_disk_io, kept));
}

/* A pending I/O past its deadline, or the disk deleted: it fails. */
static void
shim_disk_kept_fail(struct spdk_py_kept *kept)
{
	spdk_py_disk_complete(shim_disk_kept_io(kept), SPDK_BDEV_IO_STATUS_FAILED);
}

/* Its channel goes: the I/O's reference to its buffer goes with it. */
static void
shim_disk_kept_drop(struct spdk_py_kept *kept)
{
	struct spdk_py_disk_io *io = SPDK_CONTAINEROF(kept, struct spdk_py_disk_io, kept);

	if (io->later_buf != NULL) {
		shim_later_buf_put(io->later_buf);
		io->later_buf = NULL;
	}
}

/* Its task is past the deadline: Python cancels it. */
static void
shim_disk_kept_expire(struct spdk_py_kept *kept)
{
	struct spdk_py_disk_io *io = SPDK_CONTAINEROF(kept, struct spdk_py_disk_io, kept);

	python_task_expired(io->ch->disk->py, kept->deferred.ticket);
}

static const struct spdk_py_kept_ops g_shim_disk_kept_ops = {
	.fail	= shim_disk_kept_fail,
	.drop	= shim_disk_kept_drop,
	.expire	= shim_disk_kept_expire,
};

/* A new channel's list of pending I/Os. */
void
spdk_py_disk_later_init(struct spdk_py_disk_channel *ch)
{
	spdk_py_kept_list_init(&ch->kept, ch->disk->bdev.name, &g_shim_disk_kept_ops);
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
	uint64_t ticket;
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
	ticket = spdk_py_kept_take(&io->kept, ch->disk->timeout_us, false, ch->thread,
				   shim_disk_deferred_done, bdev_io);
	if (ch->away) {
		io->state = SHIM_DISK_KEPT_AWAY;
	} else {
		spdk_py_disk_track_pending(ch, io);
	}
	return ticket;
}

/* An async hook's task keeps this I/O, on its own buffers (the task runs on
 * the I/O's thread and ends before the I/O does): a ticket for the task's
 * end, or 0 if it is not Python's to keep. Past the disk's timeout, Python
 * is asked to cancel the task.
 */
uint64_t
spdk_py_disk_keep(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	struct spdk_py_disk_channel *ch = io->ch;
	uint64_t ticket;

	if (io->state != SHIM_DISK_IN_PYTHON || ch->away) {
		return 0;
	}
	ticket = spdk_py_kept_take(&io->kept, ch->disk->timeout_us, true, ch->thread,
				   shim_disk_deferred_done, bdev_io);
	if (ticket != 0) {
		spdk_py_disk_track_pending(ch, io);
	}
	return ticket;
}
