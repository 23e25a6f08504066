/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Deferred completion: an I/O that Python completes later, from any thread
 * (a worker, a future's callback), completes on its own SPDK thread, exactly
 * once. Python asks for a ticket on the I/O's thread; whoever finishes the
 * work hands the ticket back with a status from anywhere; C sends a message
 * to the I/O's thread, which completes it if it is still waiting (on that
 * thread itself and outside a batch, it completes at once: a mirror's parent
 * when its last child completes). A ticket
 * that timed out, or whose I/O was failed on delete, finds nothing there:
 * that completion is dropped (and said so), never done twice.
 *
 * Tickets are looked up under one mutex, never while waiting for the GIL:
 * a worker takes it inside a lib call (holding the GIL), a reactor without
 * the GIL, so neither ever waits for the other's lock while holding its own.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/thread.h"

#define SHIM_DEFERRED_BUCKETS 1024

TAILQ_HEAD(shim_deferred_list, spdk_py_deferred);

static pthread_mutex_t g_deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_deferred_list g_deferred[SHIM_DEFERRED_BUCKETS];
static bool g_deferred_ready;
static uint64_t g_deferred_next = 1;

static struct shim_deferred_list *
shim_deferred_bucket(uint64_t ticket)
{
	if (!g_deferred_ready) {
		for (int i = 0; i < SHIM_DEFERRED_BUCKETS; i++) {
			TAILQ_INIT(&g_deferred[i]);
		}
		g_deferred_ready = true;
	}
	return &g_deferred[ticket % SHIM_DEFERRED_BUCKETS];
}

static struct spdk_py_deferred *
shim_deferred_find(uint64_t ticket)
{
	struct spdk_py_deferred *d;

	TAILQ_FOREACH(d, shim_deferred_bucket(ticket), link) {
		if (d->ticket == ticket) {
			return d;
		}
	}
	return NULL;
}

/* d (embedded in the I/O's context) waits for its ticket, to complete on
 * thread, the I/O's (called there, or on the Python thread for it).
 */
uint64_t
spdk_py_deferred_add(struct spdk_py_deferred *d, struct spdk_thread *thread,
		     spdk_py_deferred_fn done, void *ctx)
{
	pthread_mutex_lock(&g_deferred_lock);
	d->ticket = g_deferred_next++;
	d->thread = thread;
	d->done = done;
	d->ctx = ctx;
	d->sent = false;
	TAILQ_INSERT_TAIL(shim_deferred_bucket(d->ticket), d, link);
	pthread_mutex_unlock(&g_deferred_lock);
	return d->ticket;
}

/* On the I/O's thread: stop waiting (timed out, failed on delete). True if
 * it was still waiting; a completion on its way is then dropped on arrival.
 */
bool
spdk_py_deferred_cancel(struct spdk_py_deferred *d)
{
	bool waiting;

	pthread_mutex_lock(&g_deferred_lock);
	waiting = shim_deferred_find(d->ticket) == d;
	if (waiting) {
		TAILQ_REMOVE(shim_deferred_bucket(d->ticket), d, link);
	}
	pthread_mutex_unlock(&g_deferred_lock);
	return waiting;
}

static void
shim_deferred_arrive(void *arg)
{
	uint64_t ticket = (uintptr_t)arg;
	struct spdk_py_deferred *d;

	pthread_mutex_lock(&g_deferred_lock);
	d = shim_deferred_find(ticket);
	if (d != NULL) {
		TAILQ_REMOVE(shim_deferred_bucket(ticket), d, link);
	}
	pthread_mutex_unlock(&g_deferred_lock);
	if (d == NULL) {
		SPDK_ERRLOG("spdk_py: completion of ticket %" PRIu64 " arrived after its I/O "
			    "was failed (timeout or delete); dropped\n", ticket);
		return;
	}
	d->done(d->ctx, d->status);
}

/* While a batch on this thread holds bdev_io pointers (a disk's), no I/O
 * completes inline: one completed and reused meanwhile would be met again.
 */
static __thread int t_deferred_batches;

void
spdk_py_deferred_batch_begin(void)
{
	t_deferred_batches++;
}

void
spdk_py_deferred_batch_end(void)
{
	t_deferred_batches--;
}

/* From any thread: complete the ticket's I/O with status, on its own thread:
 * now if this is that thread and no batch is running here (a child I/O's
 * completion, as a mirror's), else by a message. 0 if it is done or on its
 * way; -ENOENT if the ticket is not waiting (timed out, failed, or completed
 * already): nothing happens then.
 */
int
spdk_py_deferred_complete(uint64_t ticket, int status)
{
	struct spdk_py_deferred *d;
	int rc = -ENOENT;

	pthread_mutex_lock(&g_deferred_lock);
	d = shim_deferred_find(ticket);
	if (d != NULL && !d->sent) {
		d->status = status;
		if (d->thread == spdk_get_thread() && t_deferred_batches == 0) {
			TAILQ_REMOVE(shim_deferred_bucket(ticket), d, link);
			pthread_mutex_unlock(&g_deferred_lock);
			d->done(d->ctx, status);
			return 0;
		}
		rc = spdk_thread_send_msg(d->thread, shim_deferred_arrive, (void *)(uintptr_t)ticket);
		d->sent = rc == 0;
	}
	pthread_mutex_unlock(&g_deferred_lock);
	return rc;
}
