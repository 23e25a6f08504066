/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A vbdev's C skeleton: its fn_table (each entry trampolines into Python),
 * its io_device and channels, the base bdev's descriptor. The decisions
 * (what to create, when to unregister, in which order) are Python's. Its I/O
 * path is shim_vbdev_io.c and, on to the base, shim_forward.c; its end is
 * shim_vbdev_unregister.c; its counters, summed, shim_vbdev_stats.c.
 */

#include "shim_internal.h"
#include "spdk_compat.h"
#include "spdk/log.h"
#include "spdk/util.h"
#include "spdk/uuid.h"

/* The bdev layer lets the vbdev go: Python decides what follows. */
static int
shim_destruct(void *ctx)
{
	struct spdk_py_vbdev *node = ctx;

	return python_destruct(node->py);
}

/* Python answers: the vbdev advertises only what it forwards. */
static bool
shim_io_type_supported(void *ctx, enum spdk_bdev_io_type io_type)
{
	struct spdk_py_vbdev *node = ctx;

	return python_io_type_supported(node->py, io_type);
}

/* The vbdev is its own io_device: a channel per thread. */
static struct spdk_io_channel *
shim_get_io_channel(void *ctx)
{
	return spdk_get_io_channel(ctx);
}

/* bdev_get_bdevs' driver_specific: Python's. */
static int
shim_dump_info_json(void *ctx, struct spdk_json_write_ctx *w)
{
	struct spdk_py_vbdev *node = ctx;

	return python_dump_info_json(node->py, w);
}

/* Like the reference: the module's config_json recreates vbdevs, nothing per bdev. */
static void
shim_write_config_json(struct spdk_bdev *bdev, struct spdk_json_write_ctx *w)
{
}

#if SPDK_PY_HAVE_MEMORY_DOMAINS
/* As SPDK's passthru: a vbdev that never touches the data works with any
 * memory domain its base does. One whose Python reads or writes the data
 * (memory_domains = False on its class) says it has none, so the bdev layer
 * hands it local buffers.
 */
static int
shim_get_memory_domains(void *ctx, struct spdk_memory_domain **domains, int array_size)
{
	struct spdk_py_vbdev *node = ctx;

	return node->memory_domains ?
	       spdk_bdev_get_memory_domains(node->base_bdev, domains, array_size) : 0;
}
#endif

#if SPDK_PY_HAVE_MEMORY_DOMAIN_TYPES
/* The same, by type (26.05, where the domains themselves are deprecated). */
static int
shim_get_memory_domain_types(void *ctx, enum spdk_dma_device_type *types, uint32_t array_size)
{
	struct spdk_py_vbdev *node = ctx;

	return node->memory_domains ?
	       spdk_bdev_get_memory_domain_types(node->base_bdev, types, array_size) : 0;
}
#endif

static const struct spdk_bdev_fn_table g_shim_fn_table = {
	.destruct		= shim_destruct,
	.submit_request		= spdk_py_submit_request,
	.io_type_supported	= shim_io_type_supported,
	.get_io_channel		= shim_get_io_channel,
	.dump_info_json		= shim_dump_info_json,
	.write_config_json	= shim_write_config_json,
#if SPDK_PY_HAVE_MEMORY_DOMAINS
	.get_memory_domains	= shim_get_memory_domains,
#endif
#if SPDK_PY_HAVE_MEMORY_DOMAIN_TYPES
	.get_memory_domain_types = shim_get_memory_domain_types,
#endif
};

/* Allocate the C side of a vbdev; Python fills in the properties it copies. */
struct spdk_py_vbdev *
spdk_py_vbdev_alloc(const char *name, const char *product_name, void *py)
{
	struct spdk_py_vbdev *node;

	/* Cache-line aligned: the fields every I/O reads share one line, and
	 * no other allocation shares it.
	 */
	if (posix_memalign((void **)&node, SPDK_CACHE_LINE_SIZE, sizeof(*node)) != 0) {
		return NULL;
	}
	memset(node, 0, sizeof(*node));
	node->bdev.name = strdup(name);
	node->bdev.product_name = strdup(product_name);
	if (node->bdev.name == NULL || node->bdev.product_name == NULL) {
		spdk_py_vbdev_free(node);
		return NULL;
	}
	node->bdev.ctxt = node;
	node->bdev.fn_table = &g_shim_fn_table;
	node->bdev.module = &g_spdk_py_module;
	node->py = py;
	return node;
}

/* A vbdev never registered, or released: its C side goes. */
void
spdk_py_vbdev_free(struct spdk_py_vbdev *node)
{
	free(node->bdev.name);
	free(node->bdev.product_name);
	free(node);
}

/* Base bdev events go to Python, which finds the vbdevs on that base. */
static void
shim_base_event_cb(enum spdk_bdev_event_type type, struct spdk_bdev *bdev, void *event_ctx)
{
	python_base_event(type, bdev);
}

/* A base that does not exist (yet) is -ENODEV, which makes creation deferred;
 * SPDK 20.07's spdk_bdev_open_ext() says -EINVAL for it, later ones -ENODEV.
 */
int
spdk_py_vbdev_open_base(struct spdk_py_vbdev *node, const char *base_name)
{
	int rc;

	if (spdk_bdev_get_by_name(base_name) == NULL) {
		return -ENODEV;
	}
	rc = spdk_bdev_open_ext(base_name, true, shim_base_event_cb, NULL, &node->base_desc);
	if (rc == 0) {
		node->base_bdev = spdk_bdev_desc_get_bdev(node->base_desc);
	}
	return rc;
}

/* The reference's "copy some properties from the underlying base bdev", in C:
 * several are bit-fields, and later releases add more.
 */
void
spdk_py_vbdev_copy_properties(struct spdk_py_vbdev *node)
{
	struct spdk_bdev *bdev = &node->bdev, *base = node->base_bdev;

	bdev->write_cache = base->write_cache;
	bdev->required_alignment = base->required_alignment;
	bdev->optimal_io_boundary = base->optimal_io_boundary;
	bdev->blocklen = base->blocklen;
	bdev->blockcnt = base->blockcnt;
	bdev->md_interleave = base->md_interleave;
	bdev->md_len = base->md_len;
	bdev->dif_type = base->dif_type;
	bdev->dif_is_head_of_md = base->dif_is_head_of_md;
	bdev->dif_check_flags = base->dif_check_flags;
	SPDK_PY_COPY_NEWER_PROPERTIES(bdev, base);
	SPDK_PY_COPY_NVME_PROPERTIES(bdev, base);
}

/* A bdev's UUID as text (SPDK_UUID_STRING_LEN bytes). */
void
spdk_py_bdev_uuid(struct spdk_bdev *bdev, char *out)
{
	spdk_uuid_fmt_lower(out, SPDK_UUID_STRING_LEN, spdk_bdev_get_uuid(bdev));
}

/* The vbdev's UUID, before it is registered; -EINVAL if the text is not one. */
int
spdk_py_vbdev_set_uuid(struct spdk_py_vbdev *node, const char *uuid)
{
	return spdk_uuid_parse(&node->bdev.uuid, uuid);
}

/* On the opening thread. */
static void
shim_close_desc(void *ctx)
{
	spdk_bdev_close(ctx);
}

/* Close the base on the thread that opened it, as the bdev layer requires. */
void
spdk_py_vbdev_close_base(struct spdk_py_vbdev *node)
{
	if (node->thread && node->thread != spdk_get_thread()) {
		spdk_thread_send_msg(node->thread, shim_close_desc, node->base_desc);
	} else {
		spdk_bdev_close(node->base_desc);
	}
}

/* A channel of the vbdev, on its thread: the base's channel beside it. */
static int
shim_ch_create_cb(void *io_device, void *ctx_buf)
{
	struct spdk_py_channel *py_ch = ctx_buf;
	struct spdk_py_vbdev *node = io_device;

	py_ch->node = node;
	py_ch->thread = spdk_get_thread();
	/* Fixed before the vbdev is registered. */
	py_ch->count_stats = node->count_stats;
	py_ch->latency_hist = node->count_stats && node->latency_hist;
	spdk_py_vbdev_io_channel_init(py_ch);
	py_ch->base_ch = spdk_bdev_get_io_channel(node->base_desc);
	return py_ch->base_ch ? 0 : -ENOMEM;
}

/* One set of counters into a sum (a channel's into the vbdev's, when it goes,
 * or into a collection, shim_vbdev_stats.c).
 */
void
spdk_py_stats_add(struct spdk_py_stats *sum, const struct spdk_py_stats *part)
{
	size_t t, b;

	for (t = 0; t < SPDK_PY_NUM_IO_TYPES; t++) {
		sum->by_type[t].ios += part->by_type[t].ios;
		sum->by_type[t].blocks += part->by_type[t].blocks;
		sum->by_type[t].errors += part->by_type[t].errors;
		sum->by_type[t].latency_ticks += part->by_type[t].latency_ticks;
		sum->by_type[t].latency_samples += part->by_type[t].latency_samples;
		sum->by_type[t].nomem_queued += part->by_type[t].nomem_queued;
	}
	for (b = 0; b < SPDK_COUNTOF(sum->latency_hist); b++) {
		sum->latency_hist[b] += part->latency_hist[b];
	}
}

/* The channel goes: its counters stay with the vbdev. */
static void
shim_ch_destroy_cb(void *io_device, void *ctx_buf)
{
	struct spdk_py_channel *py_ch = ctx_buf;
	struct spdk_py_vbdev *node = io_device;

	/* A channel's counts outlive it (the app thread reads them with the others'). */
	spdk_py_stats_add(&node->retired, &py_ch->stats);
	spdk_py_vbdev_io_channel_fini(py_ch);
	spdk_put_io_channel(py_ch->base_ch);
}

/* The vbdev's io_device, before the bdev is registered. */
void
spdk_py_vbdev_io_device_register(struct spdk_py_vbdev *node)
{
	spdk_io_device_register(node, shim_ch_create_cb, shim_ch_destroy_cb,
				sizeof(struct spdk_py_channel), node->bdev.name);
}

/* The base changed size: the vbdev takes the new one (its own users get RESIZE). */
int
spdk_py_vbdev_follow_resize(struct spdk_py_vbdev *node)
{
	return spdk_bdev_notify_blockcnt_change(&node->bdev, spdk_bdev_get_num_blocks(node->base_bdev));
}
