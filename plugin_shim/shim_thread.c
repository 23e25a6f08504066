/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Python on SPDK's threads: pollers, one-shot timers, messages to a thread and
 * a message to every thread. Each lands in Python on the thread SPDK runs it
 * on; none blocks a reactor. A Python callback is named by an ffi handle (a
 * poller's, held for the poller's life) or a waiter key (python_done).
 */

#include <sys/epoll.h>

#include "shim_internal.h"
#include "spdk/cpuset.h"
#include "spdk/event.h"
#include "spdk/log.h"
#include "spdk/thread.h"

struct spdk_py_poller {
	struct spdk_poller	*poller;
	void			*py;	/* ffi handle of the Python Poller */
	int			epfd;	/* an fd poller's epoll set */
};

static int
shim_poller_run(void *arg)
{
	struct spdk_py_poller *p = arg;

	/* Python answers 1 (busy), 0 (idle), or -1 (it raised: logged there). */
	return python_poll(spdk_py_thread_key(), p->py) > 0 ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

static int
shim_fd_poller_run(void *arg)
{
	struct spdk_py_poller *p = arg;
	struct epoll_event event;

	/* Level-triggered: what is ready here is ready for Python's select too. */
	if (epoll_wait(p->epfd, &event, 1, 0) <= 0) {
		return SPDK_POLLER_IDLE;
	}
	return python_poll(spdk_py_thread_key(), p->py) > 0 ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* A thread that has exited takes no poller (SPDK logs an error for one): a
 * message that raced its exit may still run there.
 */
static bool
shim_thread_takes_pollers(void)
{
	struct spdk_thread *thread = spdk_get_thread();

	return thread != NULL && !spdk_thread_is_exited(thread);
}

static struct spdk_py_poller *
shim_poller_new(spdk_poller_fn fn, void *py, int epfd, uint64_t period_us)
{
	struct spdk_py_poller *p;

	if (!shim_thread_takes_pollers()) {
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	p->py = py;
	p->epfd = epfd;
	p->poller = spdk_poller_register(fn, p, period_us);
	if (p->poller == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* A poller on this thread: python_poll(thread, py) every period_us (0: every
 * reactor iteration) until spdk_py_poller_unregister, on this thread.
 */
struct spdk_py_poller *
spdk_py_poller_register(void *py, uint64_t period_us)
{
	return shim_poller_new(shim_poller_run, py, -1, period_us);
}

/* A poller that enters Python only when a file descriptor of the epoll set
 * epfd is ready, checked every period_us with no wait: an event loop's
 * sockets cost their reactor a system call a period while none is ready.
 */
struct spdk_py_poller *
spdk_py_fd_poller_register(void *py, int epfd, uint64_t period_us)
{
	return shim_poller_new(shim_fd_poller_run, py, epfd, period_us);
}

/* On the poller's thread; may be called from the poller's own callback. */
void
spdk_py_poller_unregister(struct spdk_py_poller *p)
{
	spdk_poller_unregister(&p->poller);
	free(p);
}

/* This SPDK thread, as a number (0: not on one): a key Python files
 * per-thread state under. Its id, never reused (an address would be, by a
 * thread made after one exited).
 */
uintptr_t
spdk_py_thread_key(void)
{
	struct spdk_thread *thread = spdk_get_thread();

	return thread != NULL ? spdk_thread_get_id(thread) : 0;
}

struct shim_later {
	struct spdk_poller	*poller;
	void			*cb_arg;
};

static int
shim_later_fire(void *arg)
{
	struct shim_later *later = arg;

	spdk_poller_unregister(&later->poller);
	python_done(later->cb_arg, 0);
	free(later);
	return SPDK_POLLER_BUSY;
}

/* python_done(cb_arg, 0) on this thread after delay_us: Python's way to wait
 * without blocking the reactor.
 */
int
spdk_py_call_later(uint64_t delay_us, void *cb_arg)
{
	struct shim_later *later;

	if (!shim_thread_takes_pollers()) {
		return -ESRCH;
	}
	later = calloc(1, sizeof(*later));
	if (later == NULL) {
		return -ENOMEM;
	}
	later->cb_arg = cb_arg;
	later->poller = spdk_poller_register(shim_later_fire, later, delay_us);
	if (later->poller == NULL) {
		free(later);
		return -ENOMEM;
	}
	return 0;
}

static void
shim_message_arrive(void *cb_arg)
{
	python_done(cb_arg, 0);
}

/* python_done(cb_arg, 0) on thread, from any thread (an SPDK one or not);
 * -ESRCH for a thread that has exited (SPDK aborts on a message to one). */
int
spdk_py_thread_send(struct spdk_thread *thread, void *cb_arg)
{
	if (spdk_thread_is_exited(thread)) {
		return -ESRCH;
	}
	return spdk_thread_send_msg(thread, shim_message_arrive, cb_arg);
}

struct shim_each_thread {
	void	*each;	/* ffi handle: python_message(each) on every thread */
	void	*done;	/* waiter key: python_done(done, 0) back on the caller's */
};

static void
shim_each_thread_run(void *arg)
{
	struct shim_each_thread *ctx = arg;

	python_message(ctx->each);
}

static void
shim_each_thread_done(void *arg)
{
	struct shim_each_thread *ctx = arg;

	python_done(ctx->done, 0);
	free(ctx);
}

/* spdk_for_each_thread: python_message(each) on every SPDK thread in turn,
 * then python_done(done, 0) on this one.
 */
int
spdk_py_for_each_thread(void *each, void *done)
{
	struct shim_each_thread *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->each = each;
	ctx->done = done;
	spdk_for_each_thread(shim_each_thread_run, ctx, shim_each_thread_done);
	return 0;
}

/* A new SPDK thread named name, scheduled on the reactor of core (any of the
 * app's reactors if core < 0); NULL with *rc a negative errno: -EINVAL for a
 * core that runs no reactor.
 */
struct spdk_thread *
spdk_py_thread_create(const char *name, int32_t core, int *rc)
{
	struct spdk_cpuset *cpumask = NULL;
	struct spdk_thread *thread;

	if (core >= 0) {
		if (!spdk_cpuset_get_cpu(spdk_app_get_core_mask(), (uint32_t)core)) {
			*rc = -EINVAL;
			return NULL;
		}
		cpumask = spdk_cpuset_alloc();
		if (cpumask == NULL) {
			*rc = -ENOMEM;
			return NULL;
		}
		spdk_cpuset_set_cpu(cpumask, (uint32_t)core, true);
	}
	thread = spdk_thread_create(name, cpumask);
	spdk_cpuset_free(cpumask);
	*rc = thread != NULL ? 0 : -ENOMEM;
	return thread;
}

/* This SPDK thread ends once its pollers and channels are gone (SPDK's
 * rule); its reactor then destroys it. On the thread itself.
 */
int
spdk_py_thread_exit(void)
{
	struct spdk_thread *thread = spdk_get_thread();

	return thread != NULL ? spdk_thread_exit(thread) : -ESRCH;
}
