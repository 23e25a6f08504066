/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A disk's I/O path: each channel queues its I/Os and its poller hands
 * Python a batch per call with the scalars and the data buffer of each (a
 * read gets its buffer first, as a base bdev's read must). Python writes a
 * status per I/O, or routes it to the disk's bases (shim_base_bdevs.c), or
 * keeps it for later (shim_disk_later.c); C finishes the batch once it has
 * left Python. Where the batch runs: on this reactor (with every reactor's,
 * free-threaded); with a GIL, handed to the reactor in Python if it is busy
 * (shim_gate.c); on the Python thread for a disk whose hooks feed worker
 * threads. C owns every I/O: one Python left untaken is failed.
 */

#include "shim_internal.h"
#include "spdk/likely.h"
#include "spdk/log.h"
#include "spdk/util.h"

/* How often a reset looks again for I/Os still outstanding (SPDK's AIO bdev's). */
#define SHIM_DISK_RESET_RETRY_US	500

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
				spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_NOMEM);
				continue;
			}
			if (bdev_io->type != SPDK_BDEV_IO_TYPE_READ) {
				spdk_py_copy_from_iovs(bdev_io, io->bounce, io->bounce_len);
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

/* CLOCK_MONOTONIC, the clock Python's time.perf_counter_ns reads. */
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
	python_disk_batch(spdk_py_thread_key(), b->py, b->ios, b->types, b->offsets, b->nblocks, b->bases, b->lens,
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
			spdk_py_disk_track_pending(ch, io);
		} else if (io->state == SHIM_DISK_DONE_AWAY) {
			spdk_py_disk_complete(b->ios[i], io->early_status);
		} else if (io->state != SHIM_DISK_IN_PYTHON) {
			continue;	/* pending, or completed already */
		} else if (b->routes[i] != 0) {
			io->state = SHIM_DISK_ROUTED;
			spdk_py_disk_forward(ch, b->ios[i], b->routes[i]);
		} else {
			spdk_py_disk_complete(b->ios[i], b->statuses[i]);
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

/* A batch may be handed over (spdk_py_hand_over) only while reactors take
 * turns in Python, and if the disk's hooks may run on any thread: no routes
 * to bases bound to this thread, no batches for the Python thread.
 */
static bool
shim_disk_may_hand(const struct spdk_py_disk_channel *ch)
{
	return !ch->disk->routes && !ch->disk->off_reactor && !ch->disk->async_hooks &&
	       !spdk_py_together();
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

/* The channel's poller: a batch into Python (here, handed over, or to the
 * Python thread), while I/Os are queued or base failures unreported.
 */
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
		if (spdk_py_try_enter() == 0) {
			spdk_py_run_handed();
			spdk_py_leave();
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
	if (spdk_py_try_enter() != 0) {
		/* Python is busy (another reactor, a reload): hand over, or poll again. */
		if (shim_disk_may_hand(ch)) {
			return shim_disk_hand(ch) ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
		}
		return SPDK_POLLER_BUSY;
	}
	spdk_py_disk_report_failures(ch);
	n = shim_disk_run(ch);
	handed = spdk_py_run_handed();
	spdk_py_leave();
	/* Completions (and the submissions they start above us) out of the
	 * lock: another reactor's batch goes into Python meanwhile.
	 */
	if (n) {
		shim_disk_finish(ch);
	}
	return n + handed ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* The channel's poller runs (while I/Os are queued, or failures unreported). */
static void
shim_disk_wake(struct spdk_py_disk_channel *ch)
{
	if (ch->poller == NULL) {
		ch->poller = spdk_poller_register(shim_disk_poll, ch, 0);
	}
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
			spdk_py_deferred_cancel(&shim_disk_io(b->ios[i])->kept.deferred);
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
	if (shim_flag_up(&ch->disk->deleting)) {
		/* The delete's pass over pending I/Os may have run while it was away. */
		spdk_py_kept_fail(&ch->kept, true, "the disk is being deleted");
	}
	if (!TAILQ_EMPTY(&ch->submitted)) {
		shim_disk_wake(ch);
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

/* Into the channel's queue for Python's next batch; its poller runs. */
static void
shim_disk_queue(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);

	io->state = SHIM_DISK_QUEUED;
	TAILQ_INSERT_TAIL(&ch->submitted, io, link);
	if (ch->poller == NULL && !ch->away) {
		shim_disk_wake(ch);
		if (ch->poller == NULL) {
			TAILQ_REMOVE(&ch->submitted, io, link);
			SPDK_ERRLOG("%s: cannot poll for Python; failing the I/O\n", ch->disk->bdev.name);
			spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		}
	}
}

/* A routed I/O back to the channel's queue, to be routed again. */
static void
shim_disk_requeue(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io)
{
	shim_disk_queue(ch, bdev_io);
}

/* A read has its buffer: on to Python. */
static void
shim_disk_read_buf(struct spdk_io_channel *_ch, struct spdk_bdev_io *bdev_io, bool success)
{
	if (!success) {
		spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
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

/* The reset's look again, SHIM_DISK_RESET_RETRY_US later. */
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
	spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
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
	} else if (shim_flag_up(&disk->deleting)) {
		spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
	} else if (shim_disk_python_does(disk, SPDK_BDEV_IO_TYPE_RESET)) {
		shim_disk_queue(io->ch, bdev_io);
	} else {
		spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_SUCCESS);
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

/* fn_table submit_request: a reset drains first, an unmap Python does not
 * do succeeds, a read gets its buffer; everything else waits for the batch.
 */
void
spdk_py_disk_submit_request(struct spdk_io_channel *_ch, struct spdk_bdev_io *bdev_io)
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
	if (spdk_unlikely(shim_flag_up(&ch->disk->deleting))) {
		io->state = SHIM_DISK_IN_PYTHON;
		spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
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
			spdk_py_disk_complete(bdev_io, SPDK_BDEV_IO_STATUS_SUCCESS);
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

static const struct spdk_py_disk_io_ops g_shim_disk_io_ops = {
	.complete	= spdk_py_disk_complete,
	.requeue	= shim_disk_requeue,
	.wake		= shim_disk_wake,
};

/* A new channel of the disk (its create callback, shim_disk.c): the batch it
 * hands Python, and how routing comes back to this path.
 */
int
spdk_py_disk_io_channel_init(struct spdk_py_disk_channel *ch)
{
	ch->batch = calloc(1, sizeof(*ch->batch));
	if (ch->batch == NULL) {
		return -ENOMEM;
	}
	ch->batch->ch = ch;
	ch->batch->py = ch->disk->py;
	ch->batch->thread = ch->thread;
	ch->batch->job.run = shim_disk_run_away;
	ch->io_ops = &g_shim_disk_io_ops;
	return 0;
}

/* The channel goes (its destroy callback): a batch away is freed when it is
 * back; the poller stops.
 */
void
spdk_py_disk_io_channel_fini(struct spdk_py_disk_channel *ch)
{
	if (ch->away) {
		ch->batch->ch = NULL;	/* freed when it is back */
	} else {
		free(ch->batch);
	}
	spdk_poller_unregister(&ch->poller);
}
