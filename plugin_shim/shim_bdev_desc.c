/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A bdev opened by Python: spdk_bdev_open_ext with an event callback into
 * Python, an optional claim for the spdk_py module, and a close that happens
 * on the opening thread once every I/O channel on the descriptor is gone (the
 * bdev layer wants channels put before their descriptor is closed).
 */

#include "shim_internal.h"
#include "spdk/log.h"

static void
shim_desc_event_cb(enum spdk_bdev_event_type type, struct spdk_bdev *bdev, void *event_ctx)
{
	struct spdk_py_bdev_desc *d = event_ctx;

	python_bdev_desc_event(d->py, type);
}

/* On an SPDK thread; *out is closed on this thread. As for vbdev bases, a bdev
 * that does not exist is -ENODEV on every release (20.07 says -EINVAL).
 */
int
spdk_py_bdev_desc_open(const char *name, bool write, void *py, struct spdk_py_bdev_desc **out)
{
	struct spdk_py_bdev_desc *d;
	int rc;

	if (spdk_get_thread() == NULL) {
		return -EPERM;
	}
	if (spdk_bdev_get_by_name(name) == NULL) {
		return -ENODEV;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return -ENOMEM;
	}
	d->py = py;
	d->thread = spdk_get_thread();
	rc = spdk_bdev_open_ext(name, write, shim_desc_event_cb, d, &d->desc);
	if (rc != 0) {
		free(d);
		return rc;
	}
	d->bdev = spdk_bdev_desc_get_bdev(d->desc);
	*out = d;
	return 0;
}

/* Claim the bdev for the spdk_py module, as a vbdev claims its base: no other
 * module may then claim or write it. Released at close.
 */
int
spdk_py_bdev_desc_claim(struct spdk_py_bdev_desc *d)
{
	int rc;

	if (d->claimed) {
		return 0;
	}
	rc = spdk_bdev_module_claim_bdev(d->bdev, d->desc, &g_spdk_py_module);
	d->claimed = rc == 0;
	return rc;
}

static void
shim_desc_finish_close(struct spdk_py_bdev_desc *d)
{
	void *done = d->close_done;

	spdk_bdev_close(d->desc);
	free(d);
	python_done(done, 0);
}

/* On the descriptor's thread: close it once its last channel is gone (now if
 * there is none); python_done(done, 0) when it is closed. Python closes the
 * channels.
 */
void
spdk_py_bdev_desc_close(struct spdk_py_bdev_desc *d, void *done)
{
	assert(spdk_get_thread() == d->thread);
	d->closing = true;
	d->close_done = done;
	/* The claim goes now, not once the channels are: at the app's shutdown
	 * the bdev layer unregisters the unclaimed bdevs first, and one still
	 * claimed then is a module that did not let go (it warns).
	 */
	if (d->claimed) {
		spdk_bdev_module_release_bdev(d->bdev);
		d->claimed = false;
	}
	if (__atomic_load_n(&d->channels, __ATOMIC_ACQUIRE) == 0) {
		shim_desc_finish_close(d);
	}
}

/* Channels come on any thread (Python refuses new ones once it closes the
 * descriptor) and go here, on the descriptor's thread.
 */
static void
shim_desc_channel_gone(void *arg)
{
	struct spdk_py_bdev_desc *d = arg;

	if (__atomic_sub_fetch(&d->channels, 1, __ATOMIC_ACQ_REL) == 0 && d->closing) {
		shim_desc_finish_close(d);
	}
}

void
spdk_py_bdev_desc_channel_added(struct spdk_py_bdev_desc *d)
{
	__atomic_add_fetch(&d->channels, 1, __ATOMIC_ACQ_REL);
}

/* From the channel's thread, after its spdk_put_io_channel. */
void
spdk_py_bdev_desc_channel_removed(struct spdk_py_bdev_desc *d)
{
	if (spdk_get_thread() == d->thread) {
		shim_desc_channel_gone(d);
	} else if (spdk_thread_send_msg(d->thread, shim_desc_channel_gone, d) != 0) {
		SPDK_ERRLOG("spdk_py: cannot tell %s's descriptor a channel closed: it stays open\n",
			    spdk_bdev_get_name(d->bdev));
	}
}
