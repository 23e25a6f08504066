/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A base bdev whose I/O Python does: the device itself, not a filter. Each
 * channel queues its I/Os and its poller hands Python a batch per call with
 * the scalars and the data buffer of each (a read gets its buffer first, as
 * a base bdev's read must). Python completes an I/O in the batch (a status
 * per I/O, completed by C after the call), or takes a ticket and completes
 * it later from any thread (shim_deferred.c). C owns every I/O: one Python
 * left untaken is failed, one pending past the disk's timeout is failed, and
 * a delete fails what is pending before it unregisters.
 */

#include "shim_internal.h"
#include "spdk/env.h"
#include "spdk/likely.h"
#include "spdk/log.h"
#include "spdk/util.h"
#include "spdk/uuid.h"

#define SHIM_DISK_QUEUED	0
#define SHIM_DISK_IN_PYTHON	1
#define SHIM_DISK_PENDING	2
#define SHIM_DISK_DONE		3
#define SHIM_DISK_ROUTED	4	/* its children are at its bases (shim_base_bdevs.c) */
/* Kept by Python on the Python thread: pending once its batch is back. */
#define SHIM_DISK_KEPT_AWAY	5
/* ... and its completion arrived first (early_status): done then. */
#define SHIM_DISK_DONE_AWAY	6

/* How often a channel with pending I/Os looks for timed out ones. */
#define SHIM_DISK_TIMER_US	1000
/* How often a reset looks again for I/Os still outstanding (SPDK's AIO bdev's). */
#define SHIM_DISK_RESET_RETRY_US	500

static int shim_disk_expire(void *arg);

static inline struct spdk_py_disk_io *
shim_disk_io(struct spdk_bdev_io *bdev_io)
{
	return (struct spdk_py_disk_io *)bdev_io->driver_ctx;
}

static inline struct spdk_py_disk *
shim_disk_of(struct spdk_bdev_io *bdev_io)
{
	return SPDK_CONTAINEROF(bdev_io->bdev, struct spdk_py_disk, bdev);
}

static inline bool
shim_disk_has_data(const struct spdk_bdev_io *bdev_io)
{
	return bdev_io->type == SPDK_BDEV_IO_TYPE_READ || bdev_io->type == SPDK_BDEV_IO_TYPE_WRITE ||
	       bdev_io->type == SPDK_BDEV_IO_TYPE_COMPARE;
}

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

static void
shim_copy_from_iovs(struct spdk_bdev_io *bdev_io, uint8_t *dst, size_t len)
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
static void
shim_disk_complete(struct spdk_bdev_io *bdev_io, int status)
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

void
spdk_py_disk_complete(struct spdk_bdev_io *bdev_io, int status)
{
	shim_disk_complete(bdev_io, status);
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
	shim_disk_complete(ctx, status);
}

/* On the I/O's thread: pending, and failed past its deadline. */
static void
shim_disk_track_pending(struct spdk_py_disk_channel *ch, struct spdk_py_disk_io *io)
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
 * Python thread (the I/O is listed as pending when the batch is back). An I/O with data gets a buffer of its own in *buf (the
 * data of a write or compare copied in; a read's copied out when it
 * completes): a worker that finishes after a timeout writes into that, never
 * into buffers the I/O gave back. Python puts its reference once it has
 * completed the I/O (spdk_py_later_buf_put).
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
			shim_copy_from_iovs(bdev_io, io->later_buf->data, len);
		}
		*buf = io->later_buf;
	}
	io->deadline = ch->disk->timeout_us ?
		       spdk_get_ticks() + ch->disk->timeout_us * spdk_get_ticks_hz() / 1000000 : 0;
	if (ch->away) {
		io->state = SHIM_DISK_KEPT_AWAY;
	} else {
		shim_disk_track_pending(ch, io);
	}
	return spdk_py_deferred_add(&io->deferred, ch->thread, shim_disk_deferred_done, bdev_io);
}

/* Fail pending I/Os: those past their deadline, or all of them (delete). */
static int
shim_disk_fail_pending(struct spdk_py_disk_channel *ch, bool all, const char *why)
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
			shim_disk_complete(spdk_bdev_io_from_ctx(io), SPDK_BDEV_IO_STATUS_FAILED);
		}
	}
	if (n > 0) {
		SPDK_ERRLOG("%s: failed %d I/O(s) Python had not completed: %s\n",
			    ch->disk->bdev.name, n, why);
	}
	return n;
}

static int
shim_disk_expire(void *arg)
{
	struct spdk_py_disk_channel *ch = arg;
	int n = shim_disk_fail_pending(ch, false, "timed out");

	ch->timed_out += n;
	if (TAILQ_EMPTY(&ch->pending)) {
		spdk_poller_unregister(&ch->timer);
	}
	return n ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* A batch from the channel's queue: the scalars and the first data buffer
 * of each I/O. The number of I/Os in it.
 */
static int
shim_disk_gather(struct spdk_py_disk_channel *ch)
{
	struct spdk_py_disk_batch *b = ch->batch;
	struct spdk_py_disk_io *io;
	struct spdk_bdev_io *bdev_io;
	int n = 0;

	while (n < SPDK_PY_BATCH && (io = TAILQ_FIRST(&ch->submitted)) != NULL) {
		TAILQ_REMOVE(&ch->submitted, io, link);
		bdev_io = spdk_bdev_io_from_ctx(io);
		io->state = SHIM_DISK_IN_PYTHON;
		b->ios[n] = bdev_io;
		b->types[n] = bdev_io->type;
		/* RESET has no block range (u.bdev is not its union member). */
		b->offsets[n] = bdev_io->type == SPDK_BDEV_IO_TYPE_RESET ? 0 :
				bdev_io->u.bdev.offset_blocks;
		b->nblocks[n] = bdev_io->type == SPDK_BDEV_IO_TYPE_RESET ? 0 :
				bdev_io->u.bdev.num_blocks;
		if (shim_disk_has_data(bdev_io) && bdev_io->u.bdev.iovcnt == 1) {
			b->bases[n] = bdev_io->u.bdev.iovs[0].iov_base;
			b->lens[n] = bdev_io->u.bdev.iovs[0].iov_len;
		} else if (shim_disk_has_data(bdev_io)) {
			/* Python sees one buffer: a scattered I/O's data, gathered. */
			io->bounce_len = b->nblocks[n] * bdev_io->bdev->blocklen;
			io->bounce = malloc(io->bounce_len);
			if (io->bounce == NULL) {
				shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_NOMEM);
				continue;
			}
			if (bdev_io->type != SPDK_BDEV_IO_TYPE_READ) {
				shim_copy_from_iovs(bdev_io, io->bounce, io->bounce_len);
			}
			b->bases[n] = io->bounce;
			b->lens[n] = io->bounce_len;
		} else {
			b->bases[n] = NULL;
			b->lens[n] = 0;
		}
		b->statuses[n] = SPDK_BDEV_IO_STATUS_FAILED;
		b->routes[n] = 0;
		n++;
	}
	b->n = n;
	return n;
}

static inline uint64_t
shim_disk_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
}

/* The batch in Python, where this thread is. Python reads the same clock
 * (time.perf_counter_ns) at its first line, with no C call before it: a C
 * call would give the GIL away again.
 */
static void
shim_disk_call(struct spdk_py_disk_batch *b)
{
	b->entered = 0;
	b->called = shim_disk_now_ns();
	spdk_py_deferred_batch_begin();
	spdk_py_disk_batch(b->py, b->ios, b->types, b->offsets, b->nblocks, b->bases, b->lens,
			   b->statuses, b->routes, b->n, &b->entered);
	spdk_py_deferred_batch_end();
}

/* Ticks it took to get into Python: the GIL, if a worker thread held it. */
static uint64_t
shim_disk_waited(const struct spdk_py_disk_batch *b)
{
	return b->entered > b->called ?
	       (b->entered - b->called) * spdk_get_ticks_hz() / 1000000000ull : 0;
}

/* On the I/O's thread, the batch back from Python: each I/O completed with
 * its status, routed, or pending (a ticket Python took).
 */
static void
shim_disk_finish(struct spdk_py_disk_channel *ch)
{
	struct spdk_py_disk_batch *b = ch->batch;
	struct spdk_py_disk_io *io;
	int i;

	for (i = 0; i < b->n; i++) {
		io = shim_disk_io(b->ios[i]);
		if (io->state == SHIM_DISK_KEPT_AWAY) {
			shim_disk_track_pending(ch, io);
		} else if (io->state == SHIM_DISK_DONE_AWAY) {
			shim_disk_complete(b->ios[i], io->early_status);
		} else if (io->state != SHIM_DISK_IN_PYTHON) {
			continue;	/* pending, or completed already */
		} else if (b->routes[i] != 0) {
			io->state = SHIM_DISK_ROUTED;
			spdk_py_disk_forward(ch, b->ios[i], b->routes[i]);
		} else {
			shim_disk_complete(b->ios[i], b->statuses[i]);
		}
	}
}

/* One batch into Python, on this reactor; the caller finishes it once it
 * has left Python (shim_disk_finish is C only).
 */
static int
shim_disk_run(struct spdk_py_disk_channel *ch)
{
	int n = shim_disk_gather(ch);

	if (n == 0) {
		return 0;
	}
	if (ch->disk->routes) {
		spdk_py_disk_channel_bind(ch);
	}
	shim_disk_call(ch->batch);
	ch->max_stall_ticks = spdk_max(ch->max_stall_ticks, shim_disk_waited(ch->batch));
	if (ch->disk->routes) {
		spdk_py_disk_channel_bind(ch);	/* the batch may have changed the bases */
	}
	return n;
}

/* On the reactor: a batch back from the Python thread. */
static void
shim_disk_back(void *arg)
{
	struct spdk_py_disk_batch *b = arg;
	struct spdk_py_disk_channel *ch = b->ch;
	int i;

	if (ch == NULL) {
		/* Its channel went (I/Os abandoned above us): no ticket may complete
		 * into it.
		 */
		for (i = 0; i < b->n; i++) {
			spdk_py_deferred_cancel(&shim_disk_io(b->ios[i])->deferred);
		}
		SPDK_ERRLOG("spdk_py: a batch came back after its channel went; dropped\n");
		free(b);
		return;
	}
	ch->away = false;
	if (ch->disk->off_reactor) {
		ch->max_python_wait_ticks = spdk_max(ch->max_python_wait_ticks, shim_disk_waited(b));
	}
	shim_disk_finish(ch);
	if (ch->disk->deleting) {
		/* The delete's pass over pending I/Os may have run while it was away. */
		shim_disk_fail_pending(ch, true, "the disk is being deleted");
	}
	if (!TAILQ_EMPTY(&ch->submitted)) {
		spdk_py_disk_channel_wake(ch);
	}
}

/* On the Python thread, or a reactor holding Python: the batch in Python,
 * then back to its own reactor.
 */
static void
shim_disk_run_away(struct spdk_py_job *job)
{
	struct spdk_py_disk_batch *b = SPDK_CONTAINEROF(job, struct spdk_py_disk_batch, job);
	int rc;

	shim_disk_call(b);
	while ((rc = spdk_thread_send_msg(b->thread, shim_disk_back, b)) == -ENOMEM) {
		usleep(10);	/* the message pool is short; this thread may wait */
	}
	if (rc != 0) {
		SPDK_ERRLOG("spdk_py: cannot send a batch back to its thread (%d)\n", rc);
	}
}

/* One batch to the Python thread; the reactor goes on. */
static int
shim_disk_send(struct spdk_py_disk_channel *ch)
{
	uint64_t start;

	if (shim_disk_gather(ch) == 0) {
		return 0;
	}
	ch->away = true;
	start = spdk_get_ticks();
	spdk_py_python_thread_queue(&ch->batch->job);
	ch->max_stall_ticks = spdk_max(ch->max_stall_ticks, spdk_get_ticks() - start);
	return ch->batch->n;
}

/* A batch may be handed to another reactor in Python (spdk_py_hand_over)
 * only if the disk's hooks may run on any thread: no routes to bases bound
 * to the channel's thread, and not a disk whose batches go to the Python
 * thread anyway.
 */
static bool
shim_disk_may_hand(const struct spdk_py_disk_channel *ch)
{
	return !ch->disk->routes && !ch->disk->off_reactor;
}

/* Python is busy elsewhere: this channel's batch to whoever holds it. */
static int
shim_disk_hand(struct spdk_py_disk_channel *ch)
{
	if (shim_disk_gather(ch) == 0) {
		return 0;
	}
	ch->away = true;
	ch->handed_batches++;
	spdk_py_hand_over(&ch->batch->job);
	return ch->batch->n;
}

static int
shim_disk_poll(void *arg)
{
	struct spdk_py_disk_channel *ch = arg;
	int n, handed;

	if (ch->away && !ch->disk->off_reactor) {
		/* Handed over (shim_disk_hand): the holder may have left Python
		 * before it saw the batch, so run what is handed if Python is free
		 * now. The batch's return ends this.
		 */
		if (spdk_py_try_lock_executor() == 0) {
			spdk_py_run_handed();
			spdk_py_unlock_executor();
		}
		return SPDK_POLLER_IDLE;
	}
	if ((TAILQ_EMPTY(&ch->submitted) && ch->failed_report == 0) || ch->away) {
		spdk_poller_unregister(&ch->poller);	/* the batch's return wakes it */
		return SPDK_POLLER_IDLE;
	}
	if (ch->disk->off_reactor) {
		return shim_disk_send(ch) ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
	}
	if (spdk_py_try_lock_executor() != 0) {
		/* Another reactor is in Python: hand it the batch, or poll again. */
		if (shim_disk_may_hand(ch)) {
			return shim_disk_hand(ch) ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
		}
		return SPDK_POLLER_BUSY;
	}
	spdk_py_disk_report_failures(ch);
	n = shim_disk_run(ch);
	handed = spdk_py_run_handed();
	spdk_py_unlock_executor();
	/* Completions (and the submissions they start above us) out of the
	 * lock: another reactor's batch goes into Python meanwhile.
	 */
	if (n) {
		shim_disk_finish(ch);
	}
	return n + handed ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* The channel's poller runs (while I/Os are queued, or failures unreported). */
void
spdk_py_disk_channel_wake(struct spdk_py_disk_channel *ch)
{
	if (ch->poller == NULL) {
		ch->poller = spdk_poller_register(shim_disk_poll, ch, 0);
	}
}

static void
shim_disk_queue(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);

	io->state = SHIM_DISK_QUEUED;
	TAILQ_INSERT_TAIL(&ch->submitted, io, link);
	if (ch->poller == NULL && !ch->away) {
		spdk_py_disk_channel_wake(ch);
		if (ch->poller == NULL) {
			TAILQ_REMOVE(&ch->submitted, io, link);
			SPDK_ERRLOG("%s: cannot poll for Python; failing the I/O\n", ch->disk->bdev.name);
			shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		}
	}
}

/* A routed I/O back to the channel's queue, to be routed again. */
void
spdk_py_disk_requeue(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io)
{
	shim_disk_queue(ch, bdev_io);
}

static void
shim_disk_read_buf(struct spdk_io_channel *_ch, struct spdk_bdev_io *bdev_io, bool success)
{
	if (!success) {
		shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		return;
	}
	shim_disk_queue(spdk_io_channel_get_ctx(_ch), bdev_io);
}

/* Whether Python sees this type: its hook, or a route() that may send it on. */
static inline bool
shim_disk_python_does(const struct spdk_py_disk *disk, int type)
{
	return disk->routes || (disk->hooks & (1u << type));
}

static void shim_disk_reset_drain(struct spdk_bdev_io *bdev_io);

/* On a channel's thread: the walk ends at the first with I/Os in flight. */
static int
shim_disk_reset_check(void *sum, void *ch_ctx)
{
	struct spdk_py_disk_channel *ch = ch_ctx;

	return ch->inflight > 0 ? -EBUSY : 0;
}

static int
shim_disk_reset_retry(void *arg)
{
	struct spdk_bdev_io *bdev_io = arg;

	spdk_poller_unregister(&shim_disk_io(bdev_io)->reset_retry);
	shim_disk_reset_drain(bdev_io);
	return SPDK_POLLER_BUSY;
}

/* A reset that cannot wait for the I/Os before it fails. */
static void
shim_disk_reset_fail(struct spdk_bdev_io *bdev_io)
{
	SPDK_ERRLOG("%s: cannot wait for I/Os to drain; the reset fails\n", bdev_io->bdev->name);
	shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
}

/* Every channel checked: look again later, or go on with the reset. */
static void
shim_disk_reset_checked(void *sum, int status)
{
	struct spdk_bdev_io *bdev_io = sum;
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	struct spdk_py_disk *disk = io->ch->disk;

	if (status == -EBUSY) {
		io->reset_retry = spdk_poller_register(shim_disk_reset_retry, bdev_io,
						       SHIM_DISK_RESET_RETRY_US);
		if (io->reset_retry != NULL) {
			return;
		}
		shim_disk_reset_fail(bdev_io);
	} else if (disk->deleting) {
		shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
	} else if (shim_disk_python_does(disk, SPDK_BDEV_IO_TYPE_RESET)) {
		shim_disk_queue(io->ch, bdev_io);
	} else {
		shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_SUCCESS);
	}
}

/* A reset as SPDK's AIO bdev does one: done once no I/O submitted before it
 * is outstanding on any channel (the bdev layer submits none while a reset
 * runs), then Python's reset hook, if the disk has one. Every disk
 * advertises RESET: bdevio, and SPDK's own bdevs, expect a reset to succeed
 * exactly when it is advertised.
 */
static void
shim_disk_reset_drain(struct spdk_bdev_io *bdev_io)
{
	if (spdk_py_channel_sum(shim_disk_io(bdev_io)->ch->disk, shim_disk_reset_check, bdev_io,
				shim_disk_reset_checked) != 0) {
		shim_disk_reset_fail(bdev_io);
	}
}

static void
shim_disk_submit_request(struct spdk_io_channel *_ch, struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_disk_channel *ch = spdk_io_channel_get_ctx(_ch);
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);

	/* driver_ctx is not cleared by the bdev layer. */
	io->ch = ch;
	io->bounce = NULL;
	io->later_buf = NULL;
	io->reset_retry = NULL;
	if (bdev_io->type != SPDK_BDEV_IO_TYPE_RESET) {
		ch->inflight++;
	}
	if (spdk_unlikely(ch->disk->deleting)) {
		io->state = SHIM_DISK_IN_PYTHON;
		shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		return;
	}
	switch (bdev_io->type) {
	case SPDK_BDEV_IO_TYPE_RESET:
		io->state = SHIM_DISK_QUEUED;
		shim_disk_reset_drain(bdev_io);
		return;
	case SPDK_BDEV_IO_TYPE_UNMAP:
		/* Not advertised, yet sent (modern NVMe-oF targets pass a host's
		 * deallocate on whatever the namespace says): a hint whose blocks
		 * then read as anything (spdk/bdev.h), and a device with nothing to
		 * give back has done it.
		 */
		if (!shim_disk_python_does(ch->disk, SPDK_BDEV_IO_TYPE_UNMAP)) {
			io->state = SHIM_DISK_IN_PYTHON;
			shim_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_SUCCESS);
			return;
		}
		break;
	default:
		break;
	}
	if (bdev_io->type == SPDK_BDEV_IO_TYPE_READ) {
		/* A base bdev gives a read its buffer (the caller may have none). */
		spdk_bdev_io_get_buf(bdev_io, shim_disk_read_buf,
				     bdev_io->u.bdev.num_blocks * bdev_io->bdev->blocklen);
		return;
	}
	shim_disk_queue(ch, bdev_io);
}

static bool
shim_disk_io_type_supported(void *ctx, enum spdk_bdev_io_type type)
{
	struct spdk_py_disk *disk = ctx;

	return type < 32 && (disk->io_types & (1u << type));
}

static struct spdk_io_channel *
shim_disk_get_io_channel(void *ctx)
{
	return spdk_get_io_channel(ctx);
}

static int
shim_disk_destruct(void *ctx)
{
	struct spdk_py_disk *disk = ctx;

	return spdk_py_destruct(disk->py);
}

static int
shim_disk_dump_info_json(void *ctx, struct spdk_json_write_ctx *w)
{
	struct spdk_py_disk *disk = ctx;

	return spdk_py_dump_info_json(disk->py, w);
}

static void
shim_disk_write_config_json(struct spdk_bdev *bdev, struct spdk_json_write_ctx *w)
{
	/* The module's config_json recreates disks, with their plugin's params. */
}

static const struct spdk_bdev_fn_table g_shim_disk_fn_table = {
	.destruct		= shim_disk_destruct,
	.submit_request		= shim_disk_submit_request,
	.io_type_supported	= shim_disk_io_type_supported,
	.get_io_channel		= shim_disk_get_io_channel,
	.dump_info_json		= shim_disk_dump_info_json,
	.write_config_json	= shim_disk_write_config_json,
};

struct spdk_py_disk *
spdk_py_disk_alloc(const char *name, const char *product_name, void *py)
{
	struct spdk_py_disk *disk = calloc(1, sizeof(*disk));

	if (disk == NULL) {
		return NULL;
	}
	disk->bdev.name = strdup(name);
	disk->bdev.product_name = strdup(product_name);
	if (disk->bdev.name == NULL || disk->bdev.product_name == NULL) {
		spdk_py_disk_free(disk);
		return NULL;
	}
	disk->bdev.ctxt = disk;
	disk->bdev.fn_table = &g_shim_disk_fn_table;
	disk->bdev.module = &g_spdk_py_module;
	disk->py = py;
	disk->bases_gen = 1;	/* channels start at 0: each binds before it routes */
	return disk;
}

void
spdk_py_disk_free(struct spdk_py_disk *disk)
{
	free(disk->bdev.name);
	free(disk->bdev.product_name);
	free(disk);
}

/* The geometry, before registration; -EINVAL for a UUID that is not one. */
int
spdk_py_disk_set_geometry(struct spdk_py_disk *disk, uint32_t block_size, uint64_t num_blocks,
			  uint32_t alignment_log2, bool write_cache, const char *uuid)
{
	disk->bdev.blocklen = block_size;
	disk->bdev.blockcnt = num_blocks;
	disk->bdev.required_alignment = alignment_log2;
	disk->bdev.write_cache = write_cache;
	return spdk_uuid_parse(&disk->bdev.uuid, uuid);
}

static int
shim_disk_ch_create(void *io_device, void *ctx_buf)
{
	struct spdk_py_disk_channel *ch = ctx_buf;

	ch->disk = io_device;
	ch->thread = spdk_get_thread();
	TAILQ_INIT(&ch->submitted);
	TAILQ_INIT(&ch->pending);
	ch->batch = calloc(1, sizeof(*ch->batch));
	if (ch->batch == NULL) {
		return -ENOMEM;
	}
	ch->batch->ch = ch;
	ch->batch->py = ch->disk->py;
	ch->batch->thread = ch->thread;
	ch->batch->job.run = shim_disk_run_away;
	return 0;
}

static void
shim_disk_ch_destroy(void *io_device, void *ctx_buf)
{
	struct spdk_py_disk_channel *ch = ctx_buf;
	struct spdk_py_disk *disk = io_device;

	struct spdk_py_disk_io *io;

	/* The bdev layer puts a channel once its I/Os are done; one still pending
	 * here was abandoned above us: its ticket is cancelled, not completed into
	 * a channel that is gone.
	 */
	while ((io = TAILQ_FIRST(&ch->pending)) != NULL) {
		TAILQ_REMOVE(&ch->pending, io, link);
		spdk_py_deferred_cancel(&io->deferred);
		if (io->later_buf != NULL) {
			shim_later_buf_put(io->later_buf);
			io->later_buf = NULL;
		}
		SPDK_ERRLOG("%s: an I/O still pending when its channel went away; dropped\n",
			    disk->bdev.name);
	}
	disk->retired_stall_ticks = spdk_max(disk->retired_stall_ticks, ch->max_stall_ticks);
	disk->retired_python_wait_ticks = spdk_max(disk->retired_python_wait_ticks,
					  ch->max_python_wait_ticks);
	disk->retired_timed_out += ch->timed_out;
	disk->retired_handed_batches += ch->handed_batches;
	if (ch->away) {
		ch->batch->ch = NULL;	/* freed when it is back */
	} else {
		free(ch->batch);
	}
	spdk_poller_unregister(&ch->poller);
	spdk_poller_unregister(&ch->timer);
}

int
spdk_py_disk_register(struct spdk_py_disk *disk)
{
	int rc;

	spdk_io_device_register(disk, shim_disk_ch_create, shim_disk_ch_destroy,
				sizeof(struct spdk_py_disk_channel), disk->bdev.name);
	rc = spdk_bdev_register(&disk->bdev);
	if (rc != 0) {
		spdk_io_device_unregister(disk, NULL);
	}
	return rc;
}

static void
shim_disk_released(void *io_device)
{
	struct spdk_py_disk *disk = io_device;

	spdk_py_vbdev_released(disk->py);
	spdk_py_disk_free(disk);
}

/* The bdev layer destructs the disk: its io_device goes, then the C struct. */
void
spdk_py_disk_io_device_unregister(struct spdk_py_disk *disk)
{
	if (disk->collecting > 0) {
		disk->unregister_pending = true;
		return;
	}
	disk->unregister_pending = false;
	spdk_io_device_unregister(disk, shim_disk_released);
}

struct shim_disk_delete {
	struct spdk_py_disk	*disk;
	void			*cb_arg;
};

/* On a channel's thread: its pending I/Os fail. */
static int
shim_disk_fail_channel(void *sum, void *ch_ctx)
{
	shim_disk_fail_pending(ch_ctx, true, "the disk is being deleted");
	return 0;
}

/* Nothing pending anywhere: the bdev goes. */
static void
shim_disk_failed_all(void *sum, int status)
{
	struct shim_disk_delete *ctx = sum;

	spdk_bdev_unregister(&ctx->disk->bdev, spdk_py_done, ctx->cb_arg);
	free(ctx);
}

/* Delete: new I/Os fail from now on, pending ones fail on their threads, then
 * the bdev is unregistered; spdk_py_done(cb_arg, rc) when it is gone.
 */
void
spdk_py_disk_unregister(struct spdk_py_disk *disk, void *cb_arg)
{
	struct shim_disk_delete *ctx = calloc(1, sizeof(*ctx));

	disk->deleting = true;
	if (ctx == NULL) {
		spdk_bdev_unregister(&disk->bdev, spdk_py_done, cb_arg);
		return;
	}
	ctx->disk = disk;
	ctx->cb_arg = cb_arg;
	if (spdk_py_channel_sum(disk, shim_disk_fail_channel, ctx, shim_disk_failed_all) != 0) {
		free(ctx);
		spdk_bdev_unregister(&disk->bdev, spdk_py_done, cb_arg);
	}
}


struct shim_disk_collect {
	struct spdk_py_disk *disk;
	uint64_t	*stall_ticks;
	uint64_t	*python_wait_ticks;
	uint64_t	*timed_out;
	int64_t		*pending;
	uint64_t	*handed_batches;
	void		*cb_arg;
};

/* On a channel's thread: its figures. */
static int
shim_disk_collect_channel(void *sum, void *ch_ctx)
{
	struct shim_disk_collect *ctx = sum;
	struct spdk_py_disk_channel *ch = ch_ctx;

	*ctx->stall_ticks = spdk_max(*ctx->stall_ticks, ch->max_stall_ticks);
	*ctx->python_wait_ticks = spdk_max(*ctx->python_wait_ticks, ch->max_python_wait_ticks);
	*ctx->timed_out += ch->timed_out;
	*ctx->pending += ch->pending_count;
	*ctx->handed_batches += ch->handed_batches;
	return 0;
}

/* Every channel in: Python has the figures, and a delete waiting may go on. */
static void
shim_disk_collected(void *sum, int status)
{
	struct shim_disk_collect *ctx = sum;
	struct spdk_py_disk *disk = ctx->disk;

	spdk_py_done(ctx->cb_arg, status);
	free(ctx);
	/* SPDK unregisters no io_device with a for_each_channel in flight. */
	if (--disk->collecting == 0 && disk->unregister_pending) {
		spdk_py_disk_io_device_unregister(disk);
	}
}

/* The disk's figures over every channel (each read on its own thread): a
 * reactor's longest wait to enter Python (or, for a disk off the reactor,
 * to hand a batch to the Python thread), the Python thread's longest wait
 * for the GIL, I/Os timed out, I/Os pending now, batches another reactor
 * ran (shim_disk_hand); spdk_py_done(cb_arg, rc)
 * when they are in.
 */
int
spdk_py_disk_collect(struct spdk_py_disk *disk, uint64_t *stall_ticks,
		     uint64_t *python_wait_ticks, uint64_t *timed_out, int64_t *pending,
		     uint64_t *handed_batches, void *cb_arg)
{
	struct shim_disk_collect *ctx;
	int rc;

	if (disk->deleting) {
		return -ENODEV;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	*stall_ticks = disk->retired_stall_ticks;
	*python_wait_ticks = disk->retired_python_wait_ticks;
	*timed_out = disk->retired_timed_out;
	*pending = 0;
	*handed_batches = disk->retired_handed_batches;
	ctx->disk = disk;
	ctx->stall_ticks = stall_ticks;
	ctx->python_wait_ticks = python_wait_ticks;
	ctx->timed_out = timed_out;
	ctx->pending = pending;
	ctx->handed_batches = handed_batches;
	ctx->cb_arg = cb_arg;
	disk->collecting++;
	rc = spdk_py_channel_sum(disk, shim_disk_collect_channel, ctx, shim_disk_collected);
	if (rc != 0) {
		disk->collecting--;
		free(ctx);
	}
	return rc;
}

/* A new size; the bdev layer tells every open descriptor (RESIZE). */
int
spdk_py_disk_resize(struct spdk_py_disk *disk, uint64_t num_blocks)
{
	return spdk_bdev_notify_blockcnt_change(&disk->bdev, num_blocks);
}
