/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A vbdev's counters, summed over its channels (each read on its own thread)
 * with spdk_py_channel_sum, the bdev layer's own figures of reads, writes and
 * unmaps added in (it counts those anyway, the shim does not count them
 * twice), and what Python holds right now (a reload waits for none).
 */

#include "shim_internal.h"
#include "spdk/util.h"


struct shim_stats_ctx {
	struct spdk_py_vbdev		*node;
	struct spdk_py_stats		*out;
	bool				counters;	/* the bdev layer's added in */
	void				*cb_arg;
	struct spdk_bdev_io_stat	bdev_stat;
};

/* On a channel's thread: its counters, and what Python holds there. */
static int
shim_stats_channel(void *sum, void *ch_ctx)
{
	struct shim_stats_ctx *ctx = sum;
	struct spdk_py_channel *py_ch = ch_ctx;
	struct spdk_py_io *io_ctx;
	int64_t queued = 0;

	spdk_py_stats_add(ctx->out, &py_ch->stats);
	/* Still queued is not in Python's hands; counted here, where it is rare. */
	TAILQ_FOREACH(io_ctx, &py_ch->submitted, link) {
		queued++;
	}
	ctx->out->python_active += py_ch->python_outstanding - queued;
	return 0;
}

/* A collection is over: Python has it, and unregisters that waited go on. */
static void
shim_collect_done(struct shim_stats_ctx *ctx, int status)
{
	struct spdk_py_vbdev *node = ctx->node;

	python_done(ctx->cb_arg, status);
	free(ctx);
	spdk_py_vbdev_walk_end(node);
}

/* The bdev layer's figures of one type into ours. */
static void
shim_stat_add_ops(struct spdk_py_io_stat *stat, uint64_t ops, uint64_t bytes, uint64_t ticks,
		  uint32_t blocklen)
{
	stat->ios += ops;
	stat->blocks += bytes / blocklen;
	stat->latency_ticks += ticks;
	stat->latency_samples += ops;
}

/* The bdev layer's reads, writes and unmaps, added to the channels' sums. */
static void
shim_bdev_stat_done(struct spdk_bdev *bdev, struct spdk_bdev_io_stat *s, void *cb_arg, int rc)
{
	struct shim_stats_ctx *ctx = cb_arg;
	struct spdk_py_io_stat *by_type = ctx->out->by_type;

	if (rc == 0) {
		shim_stat_add_ops(&by_type[SPDK_BDEV_IO_TYPE_READ], s->num_read_ops, s->bytes_read,
				  s->read_latency_ticks, bdev->blocklen);
		shim_stat_add_ops(&by_type[SPDK_BDEV_IO_TYPE_WRITE], s->num_write_ops,
				  s->bytes_written, s->write_latency_ticks, bdev->blocklen);
		shim_stat_add_ops(&by_type[SPDK_BDEV_IO_TYPE_UNMAP], s->num_unmap_ops,
				  s->bytes_unmapped, s->unmap_latency_ticks, bdev->blocklen);
	}
	shim_collect_done(ctx, rc);
}

/* Every channel summed: the bdev layer's own figures next, if asked. */
static void
shim_stats_done(void *sum, int status)
{
	struct shim_stats_ctx *ctx = sum;

	if (status == 0 && ctx->counters) {
		/* Our unregisters wait for us; SPDK's own at shutdown do not. */
		if (ctx->node->bdev.internal.status != SPDK_BDEV_STATUS_READY) {
			shim_collect_done(ctx, -ENODEV);
			return;
		}
		/* The bdev layer's own count of our reads, writes and unmaps. */
		SPDK_PY_GET_DEVICE_STAT(&ctx->node->bdev, &ctx->bdev_stat, shim_bdev_stat_done, ctx);
		return;
	}
	shim_collect_done(ctx, status);
}

/* Sum the counters of every channel (each read on its own thread) into out;
 * python_done(cb_arg, rc) runs when out is complete. Without counters, only
 * what the shim keeps itself (python_active) is exact; with them, the vbdev
 * must be registered and not being unregistered (-ENODEV).
 */
int
spdk_py_vbdev_collect_stats(struct spdk_py_vbdev *node, struct spdk_py_stats *out, bool counters,
			    void *cb_arg)
{
	struct shim_stats_ctx *ctx;
	int rc;

	if (counters && (node->bdev.internal.status != SPDK_BDEV_STATUS_READY ||
			 node->bdev_unregister_pending || shim_flag_up(&node->deleting))) {
		return -ENODEV;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->node = node;
	ctx->out = out;
	ctx->counters = counters && node->count_stats;
	ctx->cb_arg = cb_arg;
	*out = node->retired;
	node->collecting++;
	rc = spdk_py_channel_sum(node, shim_stats_channel, ctx, shim_stats_done);
	if (rc != 0) {
		node->collecting--;
		free(ctx);
	}
	return rc;
}
