/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * I/Os Python keeps past its batch (a Later): each holds a ticket to be
 * completed with, from any thread (shim_deferred.c carries it to the I/O's
 * thread), and a deadline; its channel lists it, and a timer fails those
 * past their deadline, a delete fails them all, a channel going drops them.
 * One mechanism for every kind of bdev Python keeps I/Os of (a disk's, a
 * vbdev's): each gives the list what failing and dropping one of its I/Os
 * means.
 */

#include "shim_internal.h"
#include "spdk/log.h"

/* How often a list with deadlines looks for I/Os past theirs. */
#define SHIM_KEPT_TIMER_US	1000

void
spdk_py_kept_list_init(struct spdk_py_kept_list *list, const char *name,
		       const struct spdk_py_kept_ops *ops)
{
	TAILQ_INIT(&list->items);
	list->count = 0;
	list->timer = NULL;
	list->timed_out = 0;
	list->name = name;
	list->ops = ops;
}

/* Keep an I/O: its deadline (0 us: none), and a ticket
 * completing it with done(ctx, status) on thread. Listed only once on that thread (spdk_py_kept_list_add):
 * a batch run elsewhere lists its I/Os when it is back. 0: no memory.
 */
uint64_t
spdk_py_kept_take(struct spdk_py_kept *kept, uint64_t timeout_us, bool task_ends,
		  struct spdk_thread *thread, spdk_py_deferred_fn done, void *ctx)
{
	kept->listed = false;
	kept->task_ends = task_ends;
	kept->deadline = timeout_us ?
			 spdk_get_ticks() + timeout_us * spdk_get_ticks_hz() / 1000000 : 0;
	return spdk_py_deferred_add(&kept->deferred, thread, done, ctx);
}

/* On the list's thread: fail what is past its deadline, or everything (a
 * delete); the number failed. A ticket completed meanwhile is not failed.
 * An I/O a task holds is not failed: past its deadline, its task is
 * cancelled (once), and the task's end completes it.
 */
int
spdk_py_kept_fail(struct spdk_py_kept_list *list, bool all, const char *why)
{
	struct spdk_py_kept *kept, *tmp;
	uint64_t now = spdk_get_ticks();
	int n = 0;

	TAILQ_FOREACH_SAFE(kept, &list->items, link, tmp) {
		if (!all && (kept->deadline == 0 || kept->deadline > now)) {
			continue;
		}
		if (kept->task_ends) {
			if (!all) {
				kept->deadline = 0;
				list->timed_out++;
				list->ops->expire(kept);
			}
			continue;
		}
		if (spdk_py_deferred_cancel(&kept->deferred)) {
			n++;
			list->ops->fail(kept);	/* which removes it from the list */
		}
	}
	if (n > 0) {
		SPDK_ERRLOG("%s: failed %d I/O(s) Python had not completed: %s\n",
			    list->name, n, why);
	}
	return n;
}

/* The list's timer, while I/Os with deadlines are kept. */
static int
shim_kept_expire(void *arg)
{
	struct spdk_py_kept_list *list = arg;
	int n = spdk_py_kept_fail(list, false, "timed out");

	list->timed_out += n;
	if (TAILQ_EMPTY(&list->items)) {
		spdk_poller_unregister(&list->timer);
	}
	return n ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* On the I/O's thread: listed, and failed past its deadline. */
void
spdk_py_kept_list_add(struct spdk_py_kept_list *list, struct spdk_py_kept *kept)
{
	kept->listed = true;
	TAILQ_INSERT_TAIL(&list->items, kept, link);
	list->count++;
	if (list->timer == NULL && kept->deadline != 0) {
		list->timer = spdk_poller_register(shim_kept_expire, list, SHIM_KEPT_TIMER_US);
	}
}

/* The I/O completes: off the list. */
void
spdk_py_kept_list_remove(struct spdk_py_kept_list *list, struct spdk_py_kept *kept)
{
	if (kept->listed) {
		TAILQ_REMOVE(&list->items, kept, link);
		list->count--;
		kept->listed = false;
	}
}

/* The channel goes (the bdev layer puts a channel once its I/Os are done):
 * one still kept was abandoned above us. Its ticket is cancelled, not
 * completed into a channel that is gone.
 */
void
spdk_py_kept_drop(struct spdk_py_kept_list *list)
{
	struct spdk_py_kept *kept;

	while ((kept = TAILQ_FIRST(&list->items)) != NULL) {
		spdk_py_kept_list_remove(list, kept);
		spdk_py_deferred_cancel(&kept->deferred);
		list->ops->drop(kept);
		SPDK_ERRLOG("%s: an I/O still kept when its channel went away; dropped\n",
			    list->name);
	}
	spdk_poller_unregister(&list->timer);
}
