/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The one walk over an io_device's channels. Figures that every I/O touches
 * live per channel (no sharing between reactors), so a collection visits
 * each channel on its own thread and adds its figures into a sum: a vbdev's
 * counters, a disk's stall and timeout figures, a disk's I/Os in flight
 * before a reset, and the walks Python asks of its own io_devices. Each
 * caller names what one channel adds; the iterator, its context and its
 * continuation are here, once.
 */

#include "shim_internal.h"

struct shim_channel_sum {
	spdk_py_channel_add_fn		add;
	spdk_py_channel_sum_done_fn	done;
	void				*sum;
};

/* On the channel's thread: its share, and whether the walk goes on. */
static void
shim_channel_sum_one(struct spdk_io_channel_iter *i)
{
	struct shim_channel_sum *s = spdk_io_channel_iter_get_ctx(i);
	struct spdk_io_channel *ch = spdk_io_channel_iter_get_channel(i);

	spdk_for_each_channel_continue(i, s->add(s->sum, spdk_io_channel_get_ctx(ch)));
}

/* Back on the caller's thread: the sum is complete (or the walk ended early). */
static void
shim_channel_sum_done(struct spdk_io_channel_iter *i, int status)
{
	struct shim_channel_sum *s = spdk_io_channel_iter_get_ctx(i);
	spdk_py_channel_sum_done_fn done = s->done;
	void *sum = s->sum;

	free(s);
	done(sum, status);
}

/* add(sum, the channel's context) on each channel of io_device, on its
 * thread, in turn: 0 goes on, anything else ends the walk with it. Then
 * done(sum, status) on this thread. -ENOMEM (and nothing called) if the walk
 * cannot start.
 */
int
spdk_py_channel_sum(void *io_device, spdk_py_channel_add_fn add, void *sum,
		    spdk_py_channel_sum_done_fn done)
{
	struct shim_channel_sum *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return -ENOMEM;
	}
	s->add = add;
	s->done = done;
	s->sum = sum;
	spdk_for_each_channel(io_device, shim_channel_sum_one, s, shim_channel_sum_done);
	return 0;
}
