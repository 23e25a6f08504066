/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A vbdev's end. A delete (or its base's hot-removal) first fails what its
 * hooks keep on every channel, then unregisters the bdev; the app's shutdown
 * fails them too. SPDK unregisters no io_device, and this shim no bdev,
 * while a walk over the vbdev's channels is in flight (a stats collection):
 * each waits for the walks to end. Last, once every channel is gone, Python
 * drops its handle and the C struct is freed.
 */

#include "shim_internal.h"
#include "spdk/log.h"


/* The last step of a vbdev's life: once every channel is gone, Python drops
 * its handle and the C struct is freed.
 */
static void
shim_io_device_unregister_cb(void *io_device)
{
	struct spdk_py_vbdev *node = io_device;

	python_released(node->py);
	spdk_py_vbdev_free(node);
}

/* Unregister the io_device once no collection walks it; notify: Python
 * hears when it is gone and the C struct is freed.
 */
void
spdk_py_vbdev_io_device_unregister(struct spdk_py_vbdev *node, bool notify)
{
	if (node->collecting > 0) {
		node->unregister_pending = true;
		node->unregister_notify = notify;
		return;
	}
	spdk_io_device_unregister(node, notify ? shim_io_device_unregister_cb : NULL);
}

/* spdk_bdev_unregister() of the vbdev, once no collection walks it. */
static void
shim_vbdev_bdev_unregister(struct spdk_py_vbdev *node, void *cb_arg)
{
	if (node->collecting > 0) {
		node->bdev_unregister_pending = true;
		node->bdev_unregister_arg = cb_arg;
		return;
	}
	spdk_bdev_unregister(&node->bdev, python_done, cb_arg);
}

/* A walk over the vbdev's channels is over (a collection's, or the failing of
 * its kept I/Os): unregisters that waited go on.
 */
void
spdk_py_vbdev_walk_end(struct spdk_py_vbdev *node)
{
	if (--node->collecting > 0) {
		return;
	}
	if (node->bdev_unregister_pending) {
		node->bdev_unregister_pending = false;
		shim_vbdev_bdev_unregister(node, node->bdev_unregister_arg);
	}
	if (node->unregister_pending) {
		node->unregister_pending = false;
		spdk_py_vbdev_io_device_unregister(node, node->unregister_notify);
	}
}

struct shim_vbdev_failing {
	struct spdk_py_vbdev	*node;
	bool			unregister;	/* then the bdev goes */
	void			*cb_arg;
};

/* On a channel's thread: the I/Os its hooks keep fail. */
static int
shim_vbdev_fail_channel(void *sum, void *ch_ctx)
{
	spdk_py_vbdev_io_fail_kept(ch_ctx);
	return 0;
}

static void
shim_vbdev_failed_all(void *sum, int status)
{
	struct shim_vbdev_failing *ctx = sum;
	struct spdk_py_vbdev *node = ctx->node;

	if (ctx->unregister) {
		shim_vbdev_bdev_unregister(node, ctx->cb_arg);
	}
	free(ctx);
	spdk_py_vbdev_walk_end(node);
}

/* What the vbdev's hooks keep fails, on every channel; then, if unregister,
 * the bdev goes (python_done(cb_arg, rc) when it is gone). From now on a hook
 * keeps nothing (a delete, a hot-remove, the app's shutdown).
 */
static void
shim_vbdev_fail_kept(struct spdk_py_vbdev *node, bool unregister, void *cb_arg)
{
	struct shim_vbdev_failing *ctx = calloc(1, sizeof(*ctx));

	shim_flag_raise(&node->deleting);
	if (ctx == NULL) {
		if (unregister) {
			shim_vbdev_bdev_unregister(node, cb_arg);
		}
		return;
	}
	ctx->node = node;
	ctx->unregister = unregister;
	ctx->cb_arg = cb_arg;
	node->collecting++;
	if (spdk_py_channel_sum(node, shim_vbdev_fail_channel, ctx, shim_vbdev_failed_all) != 0) {
		free(ctx);
		node->collecting--;
		if (unregister) {
			shim_vbdev_bdev_unregister(node, cb_arg);
		}
	}
}

/* Delete (or hot-remove): what the hooks keep fails, then the bdev is
 * unregistered; python_done(cb_arg, rc) when it is gone.
 */
void
spdk_py_vbdev_unregister(struct spdk_py_vbdev *node, void *cb_arg)
{
	shim_vbdev_fail_kept(node, true, cb_arg);
}

/* The app shuts down (the module's fini_start): what the hooks keep fails
 * now, not at its timeout, so the bdev layer's unregisters go on.
 */
void
spdk_py_vbdev_shutdown(struct spdk_py_vbdev *node)
{
	shim_vbdev_fail_kept(node, false, NULL);
}
