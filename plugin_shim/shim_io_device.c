/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * An io_device of Python's: SPDK's per-thread state, held in Python. A
 * channel's create and destroy land in Python on the channel's thread (its
 * context is only the key Python files its object under); for_each_channel
 * visits each channel on its thread. SPDK refuses to unregister an io_device
 * with a for_each_channel in flight: unregistering waits for them to end.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/thread.h"

/* A channel of Python's io_device: Python files its state under the key. */
static int
shim_io_device_create(void *io_device, void *ctx_buf)
{
	struct spdk_py_io_device *dev = io_device;

	return python_io_device_channel(dev->py, ctx_buf, true);
}

/* The channel goes: Python drops the key's state. */
static void
shim_io_device_destroy(void *io_device, void *ctx_buf)
{
	struct spdk_py_io_device *dev = io_device;

	python_io_device_channel(dev->py, ctx_buf, false);
}

/* On an SPDK thread: an io_device whose channels are Python's. */
struct spdk_py_io_device *
spdk_py_io_device_register(const char *name, void *py)
{
	struct spdk_py_io_device *dev;

	if (spdk_get_thread() == NULL) {
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return NULL;
	}
	dev->py = py;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	spdk_io_device_register(dev, shim_io_device_create, shim_io_device_destroy,
				sizeof(void *), dev->name);
	return dev;
}

/* The key of the calling thread's channel, as create gave it to Python. */
void *
spdk_py_io_channel_ctx(struct spdk_io_channel *ch)
{
	return spdk_io_channel_get_ctx(ch);
}

/* Every channel gone: the device is freed, then Python hears it. */
static void
shim_io_device_unregistered(void *io_device)
{
	struct spdk_py_io_device *dev = io_device;
	void *done = dev->unregister_done;

	free(dev);
	python_done(done, 0);
}

/* No walk in flight: SPDK may unregister it. */
static void
shim_io_device_unregister_now(struct spdk_py_io_device *dev)
{
	spdk_io_device_unregister(dev, shim_io_device_unregistered);
}

/* Unregister (after any for_each_channel in flight); python_done(done, 0)
 * once every channel is gone and the device is freed.
 */
void
spdk_py_io_device_unregister(struct spdk_py_io_device *dev, void *done)
{
	dev->unregister_done = done;
	if (dev->iterating > 0) {
		dev->unregister_pending = true;
		return;
	}
	shim_io_device_unregister_now(dev);
}

struct shim_each_channel {
	struct spdk_py_io_device	*dev;
	void				*each;	/* ffi handle: python_io_device_each(each, key) */
	void				*done;	/* waiter key, back on the caller's thread */
};

/* On a channel's thread, its key to Python. Python's answer: 0 goes on,
 * anything else ends the walk with it.
 */
static int
shim_each_channel_run(void *sum, void *ch_ctx)
{
	struct shim_each_channel *ctx = sum;

	return python_io_device_each(ctx->each, ch_ctx);
}

/* The walk is over: Python hears it, and an unregister waiting may go on. */
static void
shim_each_channel_done(void *sum, int status)
{
	struct shim_each_channel *ctx = sum;
	struct spdk_py_io_device *dev = ctx->dev;

	python_done(ctx->done, status);
	free(ctx);
	if (--dev->iterating == 0 && dev->unregister_pending) {
		dev->unregister_pending = false;
		shim_io_device_unregister_now(dev);
	}
}

/* spdk_for_each_channel: python_io_device_each(each, key) on each channel's
 * thread, then python_done(done, status) on this one.
 */
int
spdk_py_io_device_for_each_channel(struct spdk_py_io_device *dev, void *each, void *done)
{
	struct shim_each_channel *ctx;
	int rc;

	if (dev->unregister_pending) {
		return -ENODEV;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->dev = dev;
	ctx->each = each;
	ctx->done = done;
	dev->iterating++;
	rc = spdk_py_channel_sum(dev, shim_each_channel_run, ctx, shim_each_channel_done);
	if (rc != 0) {
		dev->iterating--;
		free(ctx);
	}
	return rc;
}
