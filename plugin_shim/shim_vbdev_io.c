/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A vbdev's submit path: each I/O is stamped with its path when it is
 * submitted (the vbdev's mode, and in hybrid mode its routing policy) and
 * keeps it to its completion, so a mode switch needs no quiesce. C's path
 * forwards it at once (shim_forward.c). In python mode submit_request only
 * queues the I/O on its channel; the channel's poller hands Python a batch
 * of I/Os per call (and, when the vbdev has a completion hook, a batch of
 * completions), which is where Python's per-I/O cost goes down. One reactor
 * runs Python at a time (shim_gate.c): a reactor that finds Python busy goes
 * on with its C work and tries again on its next poll, instead of waiting
 * for the GIL.
 */

#include "shim_internal.h"
#include "spdk/env.h"
#include "spdk/likely.h"
#include "spdk/log.h"

/* Does the hybrid policy send this I/O to Python? */
static inline bool
shim_routed_to_python(const struct spdk_py_vbdev *node, const struct spdk_bdev_io *bdev_io)
{
	uint64_t start = node->route_lba_start, end = node->route_lba_end;

	if (node->route_types & (1u << bdev_io->type)) {
		return true;
	}
	return end > start && shim_io_has_range(bdev_io) && bdev_io->u.bdev.offset_blocks < end &&
	       bdev_io->u.bdev.offset_blocks + bdev_io->u.bdev.num_blocks > start;
}

/* Move up to a batch of I/Os from queue into the channel's arrays; those of
 * c_types go on in C instead (submissions queued while Python was paused).
 */
static int
shim_take_batch(struct spdk_py_channel *py_ch, struct spdk_py_io_queue *queue, uint8_t state,
		uint32_t c_types)
{
	struct spdk_py_io *io_ctx;
	struct spdk_bdev_io *bdev_io;
	int n = 0;

	while (n < SPDK_PY_BATCH && (io_ctx = TAILQ_FIRST(queue)) != NULL) {
		TAILQ_REMOVE(queue, io_ctx, link);
		bdev_io = spdk_bdev_io_from_ctx(io_ctx);
		if (c_types & (1u << bdev_io->type)) {
			spdk_py_forward(bdev_io);
			continue;
		}
		io_ctx->state = state;
		py_ch->batch_ios[n] = bdev_io;
		py_ch->batch_types[n] = bdev_io->type;
		py_ch->batch_status[n] = io_ctx->status;
		n++;
	}
	return n;
}

/* What the submit batch said of an I/O still Python's: on to the base (a
 * write from its bounce buffer, if the hook filled one), or complete it.
 */
static void
shim_submitted(struct spdk_bdev_io *bdev_io, int status)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	int rc;

	if (status != SPDK_PY_STATUS_FORWARD) {
		spdk_py_io_complete(bdev_io, status);
		return;
	}
	io_ctx->state = SPDK_PY_IO_OWNED;
	if (bdev_io->type == SPDK_BDEV_IO_TYPE_WRITE && io_ctx->bounce != NULL) {
		rc = spdk_py_base_write_bounce(bdev_io);
		if (rc != 0 && rc != -ENOMEM) {
			spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		} else if (rc == -ENOMEM && spdk_py_io_queue(bdev_io) != 0) {
			spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		}
		return;
	}
	spdk_py_forward(bdev_io);
}

/* Python sees a batch of submissions and says, per I/O, what becomes of it
 * (a status array C holds at FAILED until Python writes it whole, so what
 * escapes Python fails the batch's I/Os); an I/O a hook kept is Python's.
 */
static int
shim_run_submissions(struct spdk_py_channel *py_ch)
{
	struct spdk_bdev_io *bdev_io;
	int n, i;

	n = shim_take_batch(py_ch, &py_ch->submitted, SPDK_PY_IO_IN_PYTHON,
			    ~py_ch->node->submit_types);
	if (n == 0) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		py_ch->batch_status[i] = SPDK_BDEV_IO_STATUS_FAILED;
	}
	spdk_py_deferred_batch_begin();
	python_submit_batch(spdk_py_thread_key(), py_ch->node->py, py_ch->batch_ios, py_ch->batch_types,
			    py_ch->batch_status, n);
	spdk_py_deferred_batch_end();
	for (i = 0; i < n; i++) {
		bdev_io = py_ch->batch_ios[i];
		/* Only IN_PYTHON is the batch's to finish: a kept I/O is the Later's. */
		if (shim_io_ctx(bdev_io)->state == SPDK_PY_IO_IN_PYTHON) {
			shim_submitted(bdev_io, py_ch->batch_status[i]);
		}
	}
	return n;
}

/* Python's completion hook sees a batch of completions and may change each
 * status; if it raises, the whole batch fails.
 */
static int
shim_run_completions(struct spdk_py_channel *py_ch)
{
	int n, i, rc;

	n = shim_take_batch(py_ch, &py_ch->completed, SPDK_PY_IO_OWNED, 0);
	if (n == 0) {
		return 0;
	}
	spdk_py_deferred_batch_begin();
	rc = python_complete_batch(spdk_py_thread_key(), py_ch->node->py, py_ch->batch_ios, py_ch->batch_types,
				   py_ch->batch_status, n);
	spdk_py_deferred_batch_end();
	if (rc != 0) {
		for (i = 0; i < n; i++) {
			py_ch->batch_status[i] = SPDK_BDEV_IO_STATUS_FAILED;
		}
	}
	for (i = 0; i < n; i++) {
		spdk_py_io_complete(py_ch->batch_ios[i], py_ch->batch_status[i]);
	}
	return n;
}

/* The channel's poller, while Python has work here: Python's completion
 * hook first, then its submissions (unless a reload paused them), if no
 * other reactor is in Python.
 */
static int
shim_channel_poll(void *arg)
{
	struct spdk_py_channel *py_ch = arg;
	int n;

	if (TAILQ_EMPTY(&py_ch->submitted) && TAILQ_EMPTY(&py_ch->completed)) {
		/* Hybrid I/O never needs the poller: do not cost it a poll each loop. */
		if (__atomic_load_n(&py_ch->node->mode, __ATOMIC_RELAXED) != SPDK_PY_MODE_PYTHON) {
			spdk_poller_unregister(&py_ch->poller);
		}
		return SPDK_POLLER_IDLE;
	}
	if (spdk_py_try_enter() != 0) {
		return SPDK_POLLER_BUSY;
	}
	n = shim_run_completions(py_ch);
	if (!spdk_py_paused()) {
		n += shim_run_submissions(py_ch);
	}
	spdk_py_leave();
	return n ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* Make sure the channel's poller runs: Python has work queued here. */
static void
shim_channel_wake(struct spdk_py_channel *py_ch)
{
	struct spdk_py_io *io_ctx;

	if (spdk_likely(py_ch->poller != NULL)) {
		return;
	}
	py_ch->poller = spdk_poller_register(shim_channel_poll, py_ch, 0);
	if (py_ch->poller != NULL) {
		return;
	}
	/* Without a poller Python would never see the queue: let C finish it. */
	SPDK_ERRLOG("%s: cannot poll for Python; handling its queued I/O in C\n",
		    py_ch->node->bdev.name);
	while ((io_ctx = TAILQ_FIRST(&py_ch->completed)) != NULL) {
		TAILQ_REMOVE(&py_ch->completed, io_ctx, link);
		spdk_py_io_complete(spdk_bdev_io_from_ctx(io_ctx), io_ctx->status);
	}
	while ((io_ctx = TAILQ_FIRST(&py_ch->submitted)) != NULL) {
		TAILQ_REMOVE(&py_ch->submitted, io_ctx, link);
		shim_python_leave(io_ctx);
		io_ctx->via_python = false;
		io_ctx->state = SPDK_PY_IO_OWNED;
		spdk_py_forward(spdk_bdev_io_from_ctx(io_ctx));
	}
}

/* fn_table submit_request: stamp the I/O with its path, then either forward
 * it in C (hybrid, or a type Python has no submit hook for) or queue it for
 * Python's next batch.
 */
void
spdk_py_submit_request(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	struct spdk_py_channel *py_ch = spdk_io_channel_get_ctx(ch);
	int mode = __atomic_load_n(&node->mode, __ATOMIC_RELAXED);

	io_ctx->test = 0x5a;
	io_ctx->py_ch = py_ch;
	io_ctx->via_python = mode == SPDK_PY_MODE_PYTHON || shim_routed_to_python(node, bdev_io);
	if (!io_ctx->via_python) {
		/* C's own path: nothing reads its state, so it is not kept. */
		spdk_py_forward(bdev_io);
		return;
	}
	io_ctx->bounce = NULL;
	py_ch->python_outstanding++;
	if (!(node->submit_types & (1u << bdev_io->type)) && !spdk_py_paused()) {
		spdk_py_forward(bdev_io);
		return;
	}
	io_ctx->state = SPDK_PY_IO_QUEUED;
	TAILQ_INSERT_TAIL(&py_ch->submitted, io_ctx, link);
	shim_channel_wake(py_ch);
}

/* A completion for Python's completion hook: it waits for the channel's
 * next batch (forwarding calls this through the channel's io_ops).
 */
static void
shim_python_complete(struct spdk_bdev_io *bdev_io, int status)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	io_ctx->status = status;
	TAILQ_INSERT_TAIL(&io_ctx->py_ch->completed, io_ctx, link);
	shim_channel_wake(io_ctx->py_ch);
}

static const struct spdk_py_vbdev_io_ops g_shim_vbdev_io_ops = {
	.python_complete	= shim_python_complete,
	.resubmit		= spdk_py_submit_request,
};

/* A kept I/O's Later came back, on its own thread: on to the base, or done. */
static void
shim_kept_done(void *ctx, int status)
{
	struct spdk_bdev_io *bdev_io = ctx;
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	spdk_py_kept_list_remove(&io_ctx->py_ch->kept, &io_ctx->kept);
	io_ctx->state = SPDK_PY_IO_IN_PYTHON;
	shim_submitted(bdev_io, status);
}

/* A submit hook keeps its I/O (a Later; task_ends: an async hook's task,
 * which Python cancels, past the timeout when C asks): a ticket to finish it
 * with, from any thread; 0 if it is not the hook's to keep (or no memory). A
 * Later's fails after the vbdev's timeout, or when the vbdev is deleted.
 */
uint64_t
spdk_py_vbdev_defer(struct spdk_bdev_io *bdev_io, bool task_ends)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	struct spdk_py_channel *py_ch = io_ctx->py_ch;
	uint64_t ticket;

	if (io_ctx->state != SPDK_PY_IO_IN_PYTHON || shim_flag_up(&py_ch->node->deleting)) {
		return 0;
	}
	ticket = spdk_py_kept_take(&io_ctx->kept, py_ch->node->timeout_us, task_ends, py_ch->thread,
				   shim_kept_done, bdev_io);
	if (ticket != 0) {
		io_ctx->state = SPDK_PY_IO_KEPT;
		spdk_py_kept_list_add(&py_ch->kept, &io_ctx->kept);
	}
	return ticket;
}

static inline struct spdk_bdev_io *
shim_kept_io(struct spdk_py_kept *kept)
{
	return spdk_bdev_io_from_ctx(SPDK_CONTAINEROF(kept, struct spdk_py_io, kept));
}

/* Past its deadline, or the vbdev deleted: the kept I/O fails. */
static void
shim_kept_fail(struct spdk_py_kept *kept)
{
	struct spdk_bdev_io *bdev_io = shim_kept_io(kept);
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	spdk_py_kept_list_remove(&io_ctx->py_ch->kept, kept);
	spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
}

/* Its channel goes: the bounce buffer goes with the abandoned I/O. */
static void
shim_kept_drop(struct spdk_py_kept *kept)
{
	struct spdk_py_io *io_ctx = SPDK_CONTAINEROF(kept, struct spdk_py_io, kept);

	spdk_free(io_ctx->bounce);
	io_ctx->bounce = NULL;
}

/* Its task is past the deadline: Python cancels it. */
static void
shim_kept_expire(struct spdk_py_kept *kept)
{
	struct spdk_py_io *io_ctx = SPDK_CONTAINEROF(kept, struct spdk_py_io, kept);

	python_task_expired(io_ctx->py_ch->node->py, kept->deferred.ticket);
}

static const struct spdk_py_kept_ops g_shim_vbdev_kept_ops = {
	.fail	= shim_kept_fail,
	.drop	= shim_kept_drop,
	.expire	= shim_kept_expire,
};

/* The vbdev is being deleted: what its hooks keep on this channel fails. */
void
spdk_py_vbdev_io_fail_kept(struct spdk_py_channel *py_ch)
{
	spdk_py_kept_fail(&py_ch->kept, true, "the vbdev is being deleted");
}

/* A new channel of the vbdev (its create callback, shim_vbdev.c): its queues
 * for Python, and how forwarding comes back to this path.
 */
void
spdk_py_vbdev_io_channel_init(struct spdk_py_channel *py_ch)
{
	TAILQ_INIT(&py_ch->submitted);
	TAILQ_INIT(&py_ch->completed);
	py_ch->io_ops = &g_shim_vbdev_io_ops;
	spdk_py_kept_list_init(&py_ch->kept, py_ch->node->bdev.name, &g_shim_vbdev_kept_ops);
}

/* The channel goes (its destroy callback): its poller with it, and what a
 * hook still kept (abandoned above us) is dropped.
 */
void
spdk_py_vbdev_io_channel_fini(struct spdk_py_channel *py_ch)
{
	spdk_py_kept_drop(&py_ch->kept);
	spdk_poller_unregister(&py_ch->poller);
}
