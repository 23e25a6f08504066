/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A base bdev whose I/O Python does: the device itself, not a filter. Its
 * life here: the fn_table, allocation and geometry, the io_device and its
 * channels, registration, the delete (new I/Os fail from then on, pending
 * ones fail before it unregisters), resize and the figures Python collects.
 * Its I/O path is shim_disk_io.c, how an I/O ends shim_disk_later.c.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/util.h"
#include "spdk/uuid.h"

/* What the disk advertises: its hooks' types, and RESET. */
static bool
shim_disk_io_type_supported(void *ctx, enum spdk_bdev_io_type type)
{
	struct spdk_py_disk *disk = ctx;

	return type < 32 && (disk->io_types & (1u << type));
}

/* The disk is its own io_device: a channel per thread. */
static struct spdk_io_channel *
shim_disk_get_io_channel(void *ctx)
{
	return spdk_get_io_channel(ctx);
}

/* The bdev layer lets the disk go: Python decides what follows. */
static int
shim_disk_destruct(void *ctx)
{
	struct spdk_py_disk *disk = ctx;

	return python_destruct(disk->py);
}

/* bdev_get_bdevs' driver_specific: the plugin's own. */
static int
shim_disk_dump_info_json(void *ctx, struct spdk_json_write_ctx *w)
{
	struct spdk_py_disk *disk = ctx;

	return python_dump_info_json(disk->py, w);
}

static void
shim_disk_write_config_json(struct spdk_bdev *bdev, struct spdk_json_write_ctx *w)
{
	/* The module's config_json recreates disks, with their plugin's params. */
}

static const struct spdk_bdev_fn_table g_shim_disk_fn_table = {
	.destruct		= shim_disk_destruct,
	.submit_request		= spdk_py_disk_submit_request,
	.io_type_supported	= shim_disk_io_type_supported,
	.get_io_channel		= shim_disk_get_io_channel,
	.dump_info_json		= shim_disk_dump_info_json,
	.write_config_json	= shim_disk_write_config_json,
};

/* The C side of a disk, before its geometry and registration. */
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

/* A disk never registered, or released: its C side goes. */
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

/* A channel's figures into a sum: a channel's own, or those of the channels
 * gone (what is pending is counted apart: a channel gone has nothing pending).
 */
static void
shim_disk_stats_add(struct spdk_py_disk_stats *sum, const struct spdk_py_disk_channel *ch)
{
	sum->stall_ticks = spdk_max(sum->stall_ticks, ch->max_stall_ticks);
	sum->python_wait_ticks = spdk_max(sum->python_wait_ticks, ch->max_python_wait_ticks);
	sum->timed_out += ch->kept.timed_out;
	sum->handed_batches += ch->handed_batches;
}

/* A channel of the disk, on its thread: its queues and its I/O path's batch. */
static int
shim_disk_ch_create(void *io_device, void *ctx_buf)
{
	struct spdk_py_disk_channel *ch = ctx_buf;

	ch->disk = io_device;
	ch->thread = spdk_get_thread();
	TAILQ_INIT(&ch->submitted);
	spdk_py_disk_later_init(ch);
	return spdk_py_disk_io_channel_init(ch);
}

/* The channel goes: what is still pending dropped, its figures kept. */
static void
shim_disk_ch_destroy(void *io_device, void *ctx_buf)
{
	struct spdk_py_disk_channel *ch = ctx_buf;
	struct spdk_py_disk *disk = io_device;

	spdk_py_kept_drop(&ch->kept);
	shim_disk_stats_add(&disk->retired, ch);
	spdk_py_disk_io_channel_fini(ch);
}

/* The io_device, then the bdev; a bdev refused takes its io_device with it. */
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

/* Every channel gone: Python drops its handle, the C struct is freed. */
static void
shim_disk_released(void *io_device)
{
	struct spdk_py_disk *disk = io_device;

	python_released(disk->py);
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
	bool			unregister;	/* then the bdev goes */
	void			*cb_arg;
};

/* On a channel's thread: its pending I/Os fail. */
static int
shim_disk_fail_channel(void *sum, void *ch_ctx)
{
	struct spdk_py_disk_channel *ch = ch_ctx;

	spdk_py_kept_fail(&ch->kept, true, "the disk is being deleted");
	return 0;
}

/* Nothing pending anywhere: the bdev goes (a delete's). */
static void
shim_disk_failed_all(void *sum, int status)
{
	struct shim_disk_delete *ctx = sum;

	if (ctx->unregister) {
		spdk_bdev_unregister(&ctx->disk->bdev, python_done, ctx->cb_arg);
	}
	free(ctx);
}

/* New I/Os fail from now on, pending ones fail on their threads; then, if
 * unregister, the bdev goes (python_done(cb_arg, rc) when it is gone).
 */
static void
shim_disk_fail_all(struct spdk_py_disk *disk, bool unregister, void *cb_arg)
{
	struct shim_disk_delete *ctx = calloc(1, sizeof(*ctx));

	shim_flag_raise(&disk->deleting);
	if (ctx != NULL) {
		ctx->disk = disk;
		ctx->unregister = unregister;
		ctx->cb_arg = cb_arg;
		if (spdk_py_channel_sum(disk, shim_disk_fail_channel, ctx, shim_disk_failed_all) == 0) {
			return;
		}
		free(ctx);
	}
	if (unregister) {
		spdk_bdev_unregister(&disk->bdev, python_done, cb_arg);
	}
}

/* Delete: pending I/Os fail, then the disk is unregistered. */
void
spdk_py_disk_unregister(struct spdk_py_disk *disk, void *cb_arg)
{
	shim_disk_fail_all(disk, true, cb_arg);
}

/* The app shuts down (the module's fini_start): what Python still keeps
 * fails now, not at its timeout, so the bdev layer's unregisters go on.
 */
void
spdk_py_disk_shutdown(struct spdk_py_disk *disk)
{
	shim_disk_fail_all(disk, false, NULL);
}


struct shim_disk_collect {
	struct spdk_py_disk		*disk;
	struct spdk_py_disk_stats	*out;
	void				*cb_arg;
};

/* On a channel's thread: its figures. */
static int
shim_disk_collect_channel(void *sum, void *ch_ctx)
{
	struct shim_disk_collect *ctx = sum;
	struct spdk_py_disk_channel *ch = ch_ctx;

	shim_disk_stats_add(ctx->out, ch);
	ctx->out->pending += ch->kept.count;
	return 0;
}

/* Every channel in: Python has the figures, and a delete waiting may go on. */
static void
shim_disk_collected(void *sum, int status)
{
	struct shim_disk_collect *ctx = sum;
	struct spdk_py_disk *disk = ctx->disk;

	python_done(ctx->cb_arg, status);
	free(ctx);
	/* SPDK unregisters no io_device with a for_each_channel in flight. */
	if (--disk->collecting == 0 && disk->unregister_pending) {
		spdk_py_disk_io_device_unregister(disk);
	}
}

/* The disk's figures over every channel (each read on its own thread) into
 * out (struct spdk_py_disk_stats); python_done(cb_arg, rc) when they are in.
 */
int
spdk_py_disk_collect(struct spdk_py_disk *disk, struct spdk_py_disk_stats *out, void *cb_arg)
{
	struct shim_disk_collect *ctx;
	int rc;

	if (shim_flag_up(&disk->deleting)) {
		return -ENODEV;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	*out = disk->retired;
	ctx->disk = disk;
	ctx->out = out;
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
