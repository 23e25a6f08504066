/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The per-I/O path. C owns every I/O's lifetime: Python decides what to do
 * with an I/O by calling these helpers, and whatever Python does (return an
 * error, raise, forget), the I/O completes exactly once.
 *
 * In python mode submit_request only queues the I/O on its channel; the
 * channel's poller hands Python a batch of I/Os per call (and, when the vbdev
 * has a completion hook, a batch of completions), which is where Python's
 * per-I/O cost goes down. One reactor runs Python at a time: a reactor that
 * finds Python busy goes on with its C work and tries again on its next poll,
 * instead of waiting for the GIL.
 */

#include "shim_internal.h"
#include "spdk_compat.h"
#include "spdk/assert.h"
#include "spdk/env.h"
#include "spdk/likely.h"
#include "spdk/log.h"
#include "spdk/util.h"

/* Per-type counters are indexed by the I/O type without a bounds check. */
SPDK_STATIC_ASSERT(SPDK_BDEV_NUM_IO_TYPES <= SPDK_PY_NUM_IO_TYPES, "too many I/O types");

/* The NVMe passthrough types: their bdev_io carries a command and a buffer. */
#define SHIM_NVME_TYPES \
	((1u << SPDK_BDEV_IO_TYPE_NVME_ADMIN) | (1u << SPDK_BDEV_IO_TYPE_NVME_IO) | \
	 (1u << SPDK_BDEV_IO_TYPE_NVME_IO_MD) | SPDK_PY_NVME_IOV_MD_BIT)

/* Types whose bdev_io has no block range (u.bdev is another member of the union). */
#define SHIM_RANGELESS_TYPES \
	(SHIM_NVME_TYPES | (1u << SPDK_BDEV_IO_TYPE_RESET) | (1u << SPDK_BDEV_IO_TYPE_ABORT) | \
	 (1u << SPDK_BDEV_IO_TYPE_GET_ZONE_INFO) | (1u << SPDK_BDEV_IO_TYPE_ZONE_MANAGEMENT))

static inline bool
shim_io_has_range(const struct spdk_bdev_io *bdev_io)
{
	return !(SHIM_RANGELESS_TYPES & (1u << bdev_io->type));
}

static inline struct spdk_py_io *
shim_io_ctx(struct spdk_bdev_io *bdev_io)
{
	return (struct spdk_py_io *)bdev_io->driver_ctx;
}

static inline struct spdk_py_vbdev *
shim_io_node(struct spdk_bdev_io *bdev_io)
{
	return SPDK_CONTAINEROF(bdev_io->bdev, struct spdk_py_vbdev, bdev);
}

static inline struct spdk_py_channel *
shim_io_channel(struct spdk_bdev_io *bdev_io)
{
	return shim_io_ctx(bdev_io)->py_ch;
}

static inline struct spdk_io_channel *
shim_io_base_ch(struct spdk_bdev_io *bdev_io)
{
	return shim_io_channel(bdev_io)->base_ch;
}

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

/* An I/O on Python's path leaves it (done, or submitted anew): uncount it and
 * free the buffer Python may have asked for.
 */
static inline void
shim_python_leave(struct spdk_py_io *io_ctx)
{
	io_ctx->py_ch->python_outstanding--;
	if (io_ctx->bounce != NULL) {
		spdk_free(io_ctx->bounce);
		io_ctx->bounce = NULL;
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

static inline __attribute__((always_inline)) void
shim_io_done(struct spdk_bdev_io *bdev_io, int status)
{
	shim_io_retire(bdev_io, status);
	spdk_bdev_io_complete(bdev_io, status);
}

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
		io_ctx->status = status;
		TAILQ_INSERT_TAIL(&shim_io_channel(orig_io)->completed, io_ctx, link);
		spdk_py_channel_wake(shim_io_channel(orig_io));
		return;
	}
	shim_io_retire(orig_io, status);
	SPDK_PY_COMPLETE_AS_BASE(orig_io, base_io, status);
}

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

/* Scalars Python needs, read in C so Python never walks the bdev_io struct. */
uint64_t
spdk_py_io_offset_blocks(struct spdk_bdev_io *bdev_io)
{
	return shim_io_has_range(bdev_io) ? bdev_io->u.bdev.offset_blocks : 0;
}

uint64_t
spdk_py_io_num_blocks(struct spdk_bdev_io *bdev_io)
{
	return shim_io_has_range(bdev_io) ? bdev_io->u.bdev.num_blocks : 0;
}

uint64_t
spdk_py_io_age_ticks(struct spdk_bdev_io *bdev_io)
{
	return spdk_get_ticks() - bdev_io->internal.submit_tsc;
}

/* An NVMe command's data is one buffer, or (NVME_IOV_MD) an iovec. */
static inline struct iovec
shim_nvme_iov(struct spdk_bdev_io *bdev_io, int i)
{
#if SPDK_PY_HAVE_NVME_IOV_MD
	if (bdev_io->type == SPDK_BDEV_IO_TYPE_NVME_IOV_MD) {
		return bdev_io->u.nvme_passthru.iovs[i];
	}
#endif
	return (struct iovec) { bdev_io->u.nvme_passthru.buf, bdev_io->u.nvme_passthru.nbytes };
}

int
spdk_py_io_iovcnt(struct spdk_bdev_io *bdev_io)
{
	if (SHIM_NVME_TYPES & (1u << bdev_io->type)) {
#if SPDK_PY_HAVE_NVME_IOV_MD
		if (bdev_io->type == SPDK_BDEV_IO_TYPE_NVME_IOV_MD) {
			return bdev_io->u.nvme_passthru.iovcnt;
		}
#endif
		return bdev_io->u.nvme_passthru.buf && bdev_io->u.nvme_passthru.nbytes ? 1 : 0;
	}
	if (!shim_io_has_range(bdev_io)) {
		return 0;
	}
	return bdev_io->u.bdev.iovs ? bdev_io->u.bdev.iovcnt : 0;
}

void *
spdk_py_io_iov_base(struct spdk_bdev_io *bdev_io, int i)
{
	if (SHIM_NVME_TYPES & (1u << bdev_io->type)) {
		return shim_nvme_iov(bdev_io, i).iov_base;
	}
	return bdev_io->u.bdev.iovs[i].iov_base;
}

size_t
spdk_py_io_iov_len(struct spdk_bdev_io *bdev_io, int i)
{
	if (SHIM_NVME_TYPES & (1u << bdev_io->type)) {
		return shim_nvme_iov(bdev_io, i).iov_len;
	}
	return bdev_io->u.bdev.iovs[i].iov_len;
}

/* The NVMe command of a passthrough I/O (NULL for other types): a module may
 * read it, or change it before it forwards the I/O.
 */
void *
spdk_py_io_nvme_cmd(struct spdk_bdev_io *bdev_io)
{
	return SHIM_NVME_TYPES & (1u << bdev_io->type) ? &bdev_io->u.nvme_passthru.cmd : NULL;
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

int
spdk_py_base_nvme_io_md(struct spdk_bdev_io *bdev_io)
{
	return shim_forwarded(bdev_io, spdk_bdev_nvme_io_passthru_md(shim_io_node(bdev_io)->base_desc,
			      shim_io_base_ch(bdev_io), &bdev_io->u.nvme_passthru.cmd,
			      bdev_io->u.nvme_passthru.buf, bdev_io->u.nvme_passthru.nbytes,
			      bdev_io->u.nvme_passthru.md_buf, bdev_io->u.nvme_passthru.md_len,
			      shim_base_io_done, bdev_io));
}

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

/* The base has a bdev_io to spare again: back into Python's queue. */
static void
shim_resubmit_io(void *arg)
{
	struct spdk_bdev_io *bdev_io = arg;
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	/* Submitted anew: counted anew, and given a fresh bounce if it needs one. */
	if (io_ctx->via_python) {
		shim_python_leave(io_ctx);
	}
	spdk_py_submit_request(spdk_io_channel_from_ctx(io_ctx->py_ch), bdev_io);
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

void
spdk_py_forward(struct spdk_bdev_io *bdev_io)
{
	shim_forward(bdev_io);
}

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
		shim_forward(bdev_io);
		return;
	}
	io_ctx->bounce = NULL;
	py_ch->python_outstanding++;
	if (!(node->submit_types & (1u << bdev_io->type)) && !spdk_py_paused()) {
		shim_forward(bdev_io);
		return;
	}
	io_ctx->state = SPDK_PY_IO_QUEUED;
	TAILQ_INSERT_TAIL(&py_ch->submitted, io_ctx, link);
	spdk_py_channel_wake(py_ch);
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
			shim_forward(bdev_io);
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

/* Python sees a batch of submissions. An I/O it leaves untaken (an error, an
 * exception, or a plain forgotten I/O) is failed here, so nothing is lost.
 */
static int
shim_run_submissions(struct spdk_py_channel *py_ch)
{
	struct spdk_bdev_io *bdev_io;
	int n, i, rc;

	n = shim_take_batch(py_ch, &py_ch->submitted, SPDK_PY_IO_IN_PYTHON,
			    ~py_ch->node->submit_types);
	if (n == 0) {
		return 0;
	}
	spdk_py_deferred_batch_begin();
	rc = spdk_py_submit_batch(py_ch->node->py, spdk_io_channel_from_ctx(py_ch),
				  py_ch->batch_ios, py_ch->batch_types, n);
	spdk_py_deferred_batch_end();
	for (i = 0; i < n; i++) {
		bdev_io = py_ch->batch_ios[i];
		/* Only IN_PYTHON is ours to fail: an I/O Python completed may have
		 * been resubmitted into the same bdev_io already.
		 */
		if (shim_io_ctx(bdev_io)->state == SPDK_PY_IO_IN_PYTHON) {
			if (rc == 0) {
				SPDK_ERRLOG("%s: Python left I/O type %d untaken; failing it\n",
					    bdev_io->bdev->name, bdev_io->type);
			}
			spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
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
	rc = spdk_py_complete_batch(py_ch->node->py, py_ch->batch_ios, py_ch->batch_types,
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
	if (spdk_py_try_lock_executor() != 0) {
		return SPDK_POLLER_BUSY;
	}
	n = shim_run_completions(py_ch);
	if (!spdk_py_paused()) {
		n += shim_run_submissions(py_ch);
	}
	spdk_py_unlock_executor();
	return n ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* Make sure the channel's poller runs: Python has work queued here. */
void
spdk_py_channel_wake(struct spdk_py_channel *py_ch)
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
