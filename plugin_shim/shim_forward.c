/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A vbdev's I/O on to its base, in C, and back: the forwarders (the
 * reference passthru's submit, per I/O type, which Python also calls one by
 * one), their completion, the bounce buffer Python may write through, the
 * wait for a bdev_io after -ENOMEM, and zero-copy kept from start to end.
 * C owns every I/O's lifetime: whatever Python does with one (return an
 * error, raise, forget), it completes exactly once, counted here.
 *
 * Forwarding sits below the vbdev's submit path (shim_vbdev_io.c) and never
 * calls it by name: a completion that Python's hook must see, and an I/O
 * that waited for a bdev_io, go back up through the ops each channel carries
 * (struct spdk_py_vbdev_io_ops).
 */

#include "shim_internal.h"
#include "spdk/assert.h"
#include "spdk/env.h"
#include "spdk/likely.h"
#include "spdk/log.h"
#include "spdk/util.h"

/* Per-type counters are indexed by the I/O type without a bounds check. */
SPDK_STATIC_ASSERT(SPDK_BDEV_NUM_IO_TYPES <= SPDK_PY_NUM_IO_TYPES, "too many I/O types");

/* A latency's histogram bucket: below 2^b ticks. */
static inline int
shim_hist_bucket(uint64_t ticks)
{
	return ticks == 0 ? 0 : spdk_min(64 - __builtin_clzll(ticks), SPDK_PY_HIST_BUCKETS - 1);
}

/* Count one completion in its channel's counters: what the bdev layer does
 * not count already (SPDK_PY_BDEV_LAYER_COUNTED), and the histogram if asked.
 */
static inline __attribute__((always_inline)) void
shim_io_count(struct spdk_py_channel *py_ch, struct spdk_bdev_io *bdev_io, int status)
{
	struct spdk_py_io_stat *stat = &py_ch->stats.by_type[bdev_io->type];
	bool ours = !(SPDK_PY_BDEV_LAYER_COUNTED & (1u << bdev_io->type)) ||
		    status != SPDK_BDEV_IO_STATUS_SUCCESS;
	bool sample;
	uint64_t now, ticks;

	if (spdk_likely(!ours) && !py_ch->latency_hist) {
		return;
	}
	sample = ours && stat->ios % SPDK_PY_LATENCY_SAMPLE == 0;
	if (sample || py_ch->latency_hist) {
		/* The bdev layer stamped submit_tsc; the thread's last poll time
		 * saves a clock read.
		 */
		now = spdk_thread_get_last_tsc(py_ch->thread);
		ticks = now > bdev_io->internal.submit_tsc ? now - bdev_io->internal.submit_tsc : 0;
		if (sample) {
			stat->latency_ticks += ticks;
			stat->latency_samples++;
		}
		if (py_ch->latency_hist) {
			py_ch->stats.latency_hist[bdev_io->type * SPDK_PY_HIST_BUCKETS +
						  shim_hist_bucket(ticks)]++;
		}
	}
	if (ours) {
		stat->ios++;
		stat->blocks += shim_io_has_range(bdev_io) ? bdev_io->u.bdev.num_blocks : 0;
		if (status != SPDK_BDEV_IO_STATUS_SUCCESS) {
			stat->errors++;
		}
	}
}

/* Every completion of ours goes through here first: count it, and take it
 * off Python's path. Completing it is the caller's next step.
 */
static inline __attribute__((always_inline)) void
shim_io_retire(struct spdk_bdev_io *bdev_io, int status)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	if (io_ctx->py_ch->count_stats) {
		shim_io_count(io_ctx->py_ch, bdev_io, status);
	}
	if (io_ctx->via_python) {
		/* Only Python's path reads the state (C's path keeps none). */
		io_ctx->state = SPDK_PY_IO_DONE;
		shim_python_leave(io_ctx);
	}
}

/* An I/O of ours done, counted first. */
static inline __attribute__((always_inline)) void
shim_io_done(struct spdk_bdev_io *bdev_io, int status)
{
	shim_io_retire(bdev_io, status);
	spdk_bdev_io_complete(bdev_io, status);
}

/* The same, for Python and the submit path. */
void
spdk_py_io_complete(struct spdk_bdev_io *bdev_io, int status)
{
	shim_io_done(bdev_io, status);
}

/* A failed base I/O's status as hooks and counters see it: a miscompare or
 * an abort stays what it is, any other failure is FAILED.
 */
static inline int
shim_base_status(const struct spdk_bdev_io *base_io, bool success)
{
	if (spdk_likely(success)) {
		return SPDK_BDEV_IO_STATUS_SUCCESS;
	}
	switch (base_io->internal.status) {
	case SPDK_BDEV_IO_STATUS_MISCOMPARE:
	case SPDK_BDEV_IO_STATUS_ABORTED:
		return base_io->internal.status;
	default:
		return SPDK_BDEV_IO_STATUS_FAILED;
	}
}

/* Complete the original I/O once, with its base I/O's status; a Python
 * completion hook sees it first (and may change the status).
 */
static inline __attribute__((always_inline)) void
shim_complete_orig(struct spdk_bdev_io *orig_io, struct spdk_bdev_io *base_io, bool success)
{
	struct spdk_py_vbdev *node = shim_io_node(orig_io);
	struct spdk_py_io *io_ctx = shim_io_ctx(orig_io);
	int status = shim_base_status(base_io, success);

	if (io_ctx->test != 0x5a) {
		SPDK_ERRLOG("Error, original IO device_ctx is wrong! 0x%x\n", io_ctx->test);
	}
	if (io_ctx->via_python && (node->complete_types & (1u << orig_io->type))) {
		io_ctx->py_ch->io_ops->python_complete(orig_io, status);
		return;
	}
	shim_io_retire(orig_io, status);
	SPDK_PY_COMPLETE_AS_BASE(orig_io, base_io, status);
}

/* A base I/O is back: the upper one completes with its status. */
static void
shim_base_io_done(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	shim_complete_orig(cb_arg, bdev_io, success);
	spdk_bdev_free_io(bdev_io);
}

/* The base's zero-copy buffer is the upper I/O's until the end phase: the
 * base I/O is kept, not freed, and the end commits (or drops) that buffer.
 * The reference (and SPDK's own passthru) freed it here and started a new
 * zcopy for the end: a write was never committed to a base whose zero-copy
 * is the bdev layer's emulation (NVMe), and the buffer went back to the pool
 * while the caller filled it.
 */
static void
shim_base_zcopy_started(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct spdk_bdev_io *orig_io = cb_arg;

	if (success) {
		shim_io_ctx(orig_io)->zcopy_base = bdev_io;
		spdk_bdev_io_set_buf(orig_io, bdev_io->u.bdev.iovs[0].iov_base,
				     bdev_io->u.bdev.iovs[0].iov_len);
	}
	shim_complete_orig(orig_io, bdev_io, success);
	if (!success) {
		spdk_bdev_free_io(bdev_io);
	}
}

/* The end phase is back: the base's zcopy I/O is done with. */
static void
shim_base_zcopy_ended(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct spdk_bdev_io *orig_io = cb_arg;

	shim_io_ctx(orig_io)->zcopy_base = NULL;
	shim_complete_orig(orig_io, bdev_io, success);
	spdk_bdev_free_io(bdev_io);
}

/* A forward that the base accepted owns the I/O from now on. */
static inline int
shim_forwarded(struct spdk_bdev_io *bdev_io, int rc)
{
	if (rc == 0) {
		shim_io_ctx(bdev_io)->state = SPDK_PY_IO_OWNED;
	}
	return rc;
}

/* WRITE of the I/O's buffers, its metadata (and memory domain) with it. */
int
spdk_py_base_write(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, SPDK_PY_WRITEV(node->base_desc, shim_io_base_ch(bdev_io),
			      bdev_io, shim_base_io_done, bdev_io));
}

/* COMPARE the I/O's buffers with the base's blocks: a mismatch completes with
 * the base's status (SPDK_PY_FORWARDS_COMPARE).
 */
int
spdk_py_base_compare(struct spdk_bdev_io *bdev_io)
{
#if SPDK_PY_FORWARDS_COMPARE
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_comparev_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.iovs, bdev_io->u.bdev.iovcnt,
			      bdev_io->u.bdev.offset_blocks, bdev_io->u.bdev.num_blocks,
			      shim_base_io_done, bdev_io));
#else
	return -ENOTSUP;
#endif
}

/* COPY between two ranges of the base. */
int
spdk_py_base_copy(struct spdk_bdev_io *bdev_io)
{
#if SPDK_PY_HAVE_COPY
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_copy_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.offset_blocks,
			      bdev_io->u.bdev.copy.src_offset_blocks, bdev_io->u.bdev.num_blocks,
			      shim_base_io_done, bdev_io));
#else
	return -ENOTSUP;
#endif
}

/* A buffer of the I/O's size (*len) for Python to fill, e.g. with a
 * transform of the caller's data, which must not change. Freed when the I/O
 * is done.
 */
void *
spdk_py_io_bounce(struct spdk_bdev_io *bdev_io, size_t *len)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	*len = bdev_io->u.bdev.num_blocks * node->bdev.blocklen;
	if (io_ctx->bounce == NULL) {
		io_ctx->bounce = spdk_malloc(*len,
					     spdk_max(spdk_bdev_get_buf_align(node->base_bdev), 0x1000),
					     NULL, SPDK_ENV_SOCKET_ID_ANY, SPDK_MALLOC_DMA);
	}
	return io_ctx->bounce;
}

/* WRITE from the bounce buffer instead of the caller's. */
int
spdk_py_base_write_bounce(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);
	void *bounce = shim_io_ctx(bdev_io)->bounce;

	if (bounce == NULL) {
		return -EINVAL;
	}
	if (bdev_io->u.bdev.md_buf == NULL) {
		return shim_forwarded(bdev_io, spdk_bdev_write_blocks(node->base_desc,
				      shim_io_base_ch(bdev_io), bounce, bdev_io->u.bdev.offset_blocks,
				      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io));
	}
	return shim_forwarded(bdev_io, spdk_bdev_write_blocks_with_md(node->base_desc,
			      shim_io_base_ch(bdev_io), bounce, bdev_io->u.bdev.md_buf,
			      bdev_io->u.bdev.offset_blocks, bdev_io->u.bdev.num_blocks,
			      shim_base_io_done, bdev_io));
}

/* WRITE_ZEROES, UNMAP and FLUSH forward the same way: a range of blocks. */
#define SHIM_BASE_RANGE_OP(name, spdk_fn) \
	int \
	spdk_py_base_##name(struct spdk_bdev_io *bdev_io) \
	{ \
		return shim_forwarded(bdev_io, spdk_fn(shim_io_node(bdev_io)->base_desc, \
				      shim_io_base_ch(bdev_io), bdev_io->u.bdev.offset_blocks, \
				      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io)); \
	}

SHIM_BASE_RANGE_OP(write_zeroes, spdk_bdev_write_zeroes_blocks)
SHIM_BASE_RANGE_OP(unmap, spdk_bdev_unmap_blocks)
SHIM_BASE_RANGE_OP(flush, spdk_bdev_flush_blocks)

/* RESET: the base resets. */
int
spdk_py_base_reset(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_reset(node->base_desc, shim_io_base_ch(bdev_io),
			      shim_base_io_done, bdev_io));
}

/* ZCOPY: the start phase starts one on the base; the end phase ends that one. */
int
spdk_py_base_zcopy(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	struct spdk_bdev_io *base_io;

	if (bdev_io->u.bdev.zcopy.start) {
		/* driver_ctx is not cleared by the bdev layer: no base I/O until the start succeeds. */
		io_ctx->zcopy_base = NULL;
		return shim_forwarded(bdev_io, SPDK_PY_ZCOPY_START(node->base_desc,
				      shim_io_base_ch(bdev_io), bdev_io, shim_base_zcopy_started,
				      bdev_io));
	}
	base_io = io_ctx->zcopy_base;
	if (base_io == NULL) {
		return -EINVAL;	/* an end with no start */
	}
	return shim_forwarded(bdev_io, spdk_bdev_zcopy_end(base_io, bdev_io->u.bdev.zcopy.commit,
			      shim_base_zcopy_ended, bdev_io));
}

/* NVMe passthrough: the command goes to the base as it came, with its buffer
 * (and metadata); its completion, status codes and cdw0, comes back up.
 */
#define SHIM_BASE_NVME_OP(name, spdk_fn) \
	int \
	spdk_py_base_##name(struct spdk_bdev_io *bdev_io) \
	{ \
		return shim_forwarded(bdev_io, spdk_fn(shim_io_node(bdev_io)->base_desc, \
				      shim_io_base_ch(bdev_io), &bdev_io->u.nvme_passthru.cmd, \
				      bdev_io->u.nvme_passthru.buf, bdev_io->u.nvme_passthru.nbytes, \
				      shim_base_io_done, bdev_io)); \
	}

SHIM_BASE_NVME_OP(nvme_admin, spdk_bdev_nvme_admin_passthru)
SHIM_BASE_NVME_OP(nvme_io, spdk_bdev_nvme_io_passthru)

/* NVMe I/O passthrough with a metadata buffer. */
int
spdk_py_base_nvme_io_md(struct spdk_bdev_io *bdev_io)
{
	return shim_forwarded(bdev_io, spdk_bdev_nvme_io_passthru_md(shim_io_node(bdev_io)->base_desc,
			      shim_io_base_ch(bdev_io), &bdev_io->u.nvme_passthru.cmd,
			      bdev_io->u.nvme_passthru.buf, bdev_io->u.nvme_passthru.nbytes,
			      bdev_io->u.nvme_passthru.md_buf, bdev_io->u.nvme_passthru.md_len,
			      shim_base_io_done, bdev_io));
}

/* NVMe I/O passthrough of an iovec (NVME_IOV_MD, 24.01). */
int
spdk_py_base_nvme_iov_md(struct spdk_bdev_io *bdev_io)
{
#if SPDK_PY_HAVE_NVME_IOV_MD
	return shim_forwarded(bdev_io, spdk_bdev_nvme_iov_passthru_md(shim_io_node(bdev_io)->base_desc,
			      shim_io_base_ch(bdev_io), &bdev_io->u.nvme_passthru.cmd,
			      bdev_io->u.nvme_passthru.iovs, bdev_io->u.nvme_passthru.iovcnt,
			      bdev_io->u.nvme_passthru.nbytes, bdev_io->u.nvme_passthru.md_buf,
			      bdev_io->u.nvme_passthru.md_len, shim_base_io_done, bdev_io));
#else
	return -ENOTSUP;
#endif
}

/* ABORT of an I/O the vbdev sent on: the base aborts its own. */
int
spdk_py_base_abort(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_abort(node->base_desc, shim_io_base_ch(bdev_io),
			      bdev_io->u.abort.bio_to_abort, shim_base_io_done, bdev_io));
}

/* The tail of the reference's submit: -ENOMEM waits for a spare bdev_io on
 * the base (vbdev_passthru_queue_io), any other error fails the I/O.
 */
static void
shim_submit_failed(struct spdk_bdev_io *bdev_io, int rc)
{
	if (rc == -ENOMEM) {
		SPDK_ERRLOG("No memory, start to queue io for passthru.\n");
		rc = spdk_py_io_queue(bdev_io);
	}
	if (rc != 0) {
		SPDK_ERRLOG("ERROR on bdev_io submission!\n");
		spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
	}
}

/* pt_read_get_buf_cb of the reference, in C: entering Python a second time
 * for every read would cost as much as the first.
 */
static void
shim_read_get_buf_cb(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io, bool success)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);
	struct spdk_io_channel *base_ch = shim_io_base_ch(bdev_io);
	int rc;

	if (!success) {
		spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		return;
	}
	rc = SPDK_PY_READV(node->base_desc, base_ch, bdev_io, shim_base_io_done, bdev_io);
	if (rc != 0) {
		shim_submit_failed(bdev_io, rc);
	}
}

/* READ: get a buffer we own (the reference's reason), then read into it. */
int
spdk_py_base_read(struct spdk_bdev_io *bdev_io)
{
	shim_io_ctx(bdev_io)->state = SPDK_PY_IO_OWNED;
	spdk_bdev_io_get_buf(bdev_io, shim_read_get_buf_cb,
			     bdev_io->u.bdev.num_blocks * bdev_io->bdev->blocklen);
	return 0;
}

/* The base has a bdev_io to spare again: the I/O is submitted anew. */
static void
shim_resubmit_io(void *arg)
{
	struct spdk_bdev_io *bdev_io = arg;
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	/* Submitted anew: counted anew, and given a fresh bounce if it needs one. */
	if (io_ctx->via_python) {
		shim_python_leave(io_ctx);
	}
	io_ctx->py_ch->io_ops->resubmit(spdk_io_channel_from_ctx(io_ctx->py_ch), bdev_io);
}

/* Park an I/O that met -ENOMEM until the base has a bdev_io to spare. */
int
spdk_py_io_queue(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	int rc;

	io_ctx->bdev_io_wait.bdev = bdev_io->bdev;
	io_ctx->bdev_io_wait.cb_fn = shim_resubmit_io;
	io_ctx->bdev_io_wait.cb_arg = bdev_io;

	/* Queue the IO using the channel of the base device. */
	rc = spdk_bdev_queue_io_wait(bdev_io->bdev, shim_io_base_ch(bdev_io), &io_ctx->bdev_io_wait);
	if (rc == 0) {
		io_ctx->state = SPDK_PY_IO_OWNED;
		shim_io_channel(bdev_io)->stats.by_type[bdev_io->type].nomem_queued++;
	}
	return rc;
}

/* vbdev_passthru_submit_request of the reference, all in C: hybrid mode's path. */
static inline __attribute__((always_inline)) void
shim_forward(struct spdk_bdev_io *bdev_io)
{
	int rc;

	switch (bdev_io->type) {
	case SPDK_BDEV_IO_TYPE_READ:
		rc = spdk_py_base_read(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_WRITE:
		rc = spdk_py_base_write(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_WRITE_ZEROES:
		rc = spdk_py_base_write_zeroes(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_UNMAP:
		rc = spdk_py_base_unmap(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_FLUSH:
		rc = spdk_py_base_flush(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_RESET:
		rc = spdk_py_base_reset(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_ZCOPY:
		rc = spdk_py_base_zcopy(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_ABORT:
		rc = spdk_py_base_abort(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_NVME_ADMIN:
		rc = spdk_py_base_nvme_admin(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_NVME_IO:
		rc = spdk_py_base_nvme_io(bdev_io);
		break;
	case SPDK_BDEV_IO_TYPE_NVME_IO_MD:
		rc = spdk_py_base_nvme_io_md(bdev_io);
		break;
#if SPDK_PY_HAVE_NVME_IOV_MD
	case SPDK_BDEV_IO_TYPE_NVME_IOV_MD:
		rc = spdk_py_base_nvme_iov_md(bdev_io);
		break;
#endif
#if SPDK_PY_FORWARDS_COMPARE
	case SPDK_BDEV_IO_TYPE_COMPARE:
		rc = spdk_py_base_compare(bdev_io);
		break;
#endif
#if SPDK_PY_HAVE_COPY
	case SPDK_BDEV_IO_TYPE_COPY:
		rc = spdk_py_base_copy(bdev_io);
		break;
#endif
	default:
		SPDK_ERRLOG("passthru: unknown I/O type %d\n", bdev_io->type);
		spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
		return;
	}
	if (rc != 0) {
		shim_submit_failed(bdev_io, rc);
	}
}

/* The same, for the submit path and Python (a type it has no hook for). */
void
spdk_py_forward(struct spdk_bdev_io *bdev_io)
{
	shim_forward(bdev_io);
}
