/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The gate into Python: when a reactor may run Python, and where Python's
 * work runs when it may not.
 *
 * With a GIL, one reactor runs Python batches at a time (the executor
 * lock). A reactor takes it only with trylock: one that finds Python busy
 * goes on with its C work and tries again at its next poll, instead of
 * waiting for the GIL. A reactor that finds Python busy may hand its batch
 * to the holder, which runs it before it leaves Python (the handed stack).
 * With no GIL (a free-threaded CPython), or with the lock turned off
 * (SPDK_PY_EXECUTOR_LOCK=off: the GIL alone then serializes, which is how
 * CI runs this path), reactors run their batches together: each takes the
 * lock shared. A hot reload pauses what would enter Python and swaps the
 * code while it holds the lock exclusively, in every mode.
 *
 * The Python thread: one pthread that runs Python's work for reactors, so a
 * reactor never waits for the GIL behind Python worker threads. Workers that
 * release the GIL around short calls take it back before a waiting thread
 * does (CPython's GIL is not fair: NOTES.md, "GIL convoy"), so whoever
 * enters Python behind them waits milliseconds. A reactor queues a job here
 * and goes on polling; the job runs with the GIL, under the executor lock as
 * a reactor's batch does (one batch in Python at a time, none during a hot
 * reload's swap), and sends what it produced back to the reactor by message.
 */

#define _GNU_SOURCE	/* pthread affinity and names */
#include "shim_internal.h"
#include "spdk/log.h"

#include <linux/futex.h>
#include <sys/syscall.h>

static pthread_rwlock_t g_py_executor = PTHREAD_RWLOCK_INITIALIZER;

/* Set once, as Python starts (before any batch): batches share the lock. */
static bool g_py_together;

/* While set, I/Os on Python's path wait in their channel's queue (a reload
 * swaps the code meanwhile); completions still flow.
 */
static bool g_python_paused;

/* A hot reload's quiesce: on while it waits for Python to hold no I/O and
 * swaps the code, off after.
 */
void
spdk_py_pause(bool paused)
{
	__atomic_store_n(&g_python_paused, paused, __ATOMIC_SEQ_CST);
}

/* Read where I/Os would enter Python: they wait while it is set. */
bool
spdk_py_paused(void)
{
	return __atomic_load_n(&g_python_paused, __ATOMIC_RELAXED);
}

/* Reactors enter Python together from now on (Python's start says so). */
void
spdk_py_set_together(bool together)
{
	__atomic_store_n(&g_py_together, together, __ATOMIC_SEQ_CST);
}

bool
spdk_py_together(void)
{
	return __atomic_load_n(&g_py_together, __ATOMIC_RELAXED);
}

/* A batch into Python (a reactor's, the Python thread's): 0 when it may run
 * now. Never waits.
 */
int
spdk_py_try_enter(void)
{
	return spdk_py_together() ? pthread_rwlock_tryrdlock(&g_py_executor)
	       : pthread_rwlock_trywrlock(&g_py_executor);
}

void
spdk_py_leave(void)
{
	pthread_rwlock_unlock(&g_py_executor);
}

/* For code that must not run while a reactor is in a Python batch: never
 * blocks (the caller may hold the GIL, which the batch's reactor may be
 * waiting for), so it says 0 when it got the lock.
 */
int
spdk_py_try_lock_executor(void)
{
	return pthread_rwlock_trywrlock(&g_py_executor);
}

/* Python's code may change again; batches may enter it. */
void
spdk_py_unlock_executor(void)
{
	pthread_rwlock_unlock(&g_py_executor);
}

/* Onto a stack of jobs, with no lock (the pusher never waits). */
static void
shim_job_push(struct spdk_py_job **stack, struct spdk_py_job *job)
{
	job->next = __atomic_load_n(stack, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(stack, &job->next, job, true,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
	}
}

/* The jobs on the stack so far, oldest first; the stack is empty again. */
static struct spdk_py_job *
shim_job_take(struct spdk_py_job **stack)
{
	struct spdk_py_job *job = __atomic_exchange_n(stack, NULL, __ATOMIC_SEQ_CST);
	struct spdk_py_job *oldest = NULL, *next;

	while (job != NULL) {
		next = job->next;
		job->next = oldest;
		oldest = job;
		job = next;
	}
	return oldest;
}

/* Batches that reactors found Python busy for, newest first: whoever holds
 * Python next runs them in the same stay (one GIL hold for several
 * reactors' batches, and the Python objects stay in one core's cache) and
 * sends each back to its reactor, which polls on meanwhile.
 */
static struct spdk_py_job *g_handed;

/* Python is busy elsewhere: job->run(job) by whoever holds it next. */
void
spdk_py_hand_over(struct spdk_py_job *job)
{
	shim_job_push(&g_handed, job);
}

/* Python held: jobs taken off a stack, run oldest first. How many. */
static int
shim_jobs_run(struct spdk_py_job *job)
{
	struct spdk_py_job *next;
	int n = 0;

	for (; job != NULL; job = next, n++) {
		next = job->next;	/* run() may hand the job back to its reactor */
		job->run(job);
	}
	return n;
}

/* Python held, on any reactor: the jobs handed so far, run. How many. */
int
spdk_py_run_handed(void)
{
	return shim_jobs_run(shim_job_take(&g_handed));
}

/* Jobs pushed by reactors, newest first. A reactor never takes a lock to
 * queue one: the Python thread shares its core with workers, and preempted
 * while holding a lock it would make the reactor wait out its time slice.
 */
static struct spdk_py_job *g_python_thread_jobs;
/* 1 while the thread sleeps, or is about to: the futex it sleeps on. */
static int g_python_thread_sleeping;
static pthread_mutex_t g_python_thread_start_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_python_thread_started;

/* Until a reactor queues a job: a futex wait, so a reactor wakes the thread
 * only when it sleeps.
 */
static void
shim_python_thread_sleep(void)
{
	__atomic_store_n(&g_python_thread_sleeping, 1, __ATOMIC_SEQ_CST);
	/* A job pushed before the store is seen here; one pushed after it sees
	 * the 1 and wakes the thread (or the futex sees the 0 and returns).
	 */
	if (__atomic_load_n(&g_python_thread_jobs, __ATOMIC_SEQ_CST) == NULL) {
		syscall(SYS_futex, &g_python_thread_sleeping, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
	}
	__atomic_store_n(&g_python_thread_sleeping, 0, __ATOMIC_SEQ_CST);
}

/* The Python thread's loop: every job queued so far, under the executor
 * lock; asleep while there is none.
 */
static void *
shim_python_thread(void *arg)
{
	struct spdk_py_job *job;

	for (;;) {
		job = shim_job_take(&g_python_thread_jobs);
		if (job == NULL) {
			shim_python_thread_sleep();
			continue;
		}
		/* Blocking is fine here: no reactor waits on this thread. A reactor
		 * takes the executor lock only with trylock, before the GIL, as this
		 * thread does.
		 */
		while (spdk_py_try_enter() != 0) {
			usleep(10);
		}
		shim_jobs_run(job);
		spdk_py_leave();
	}
	return NULL;
}

/* Start the thread, once, pinned to cpus (the cores no reactor polls, where
 * there are such). 0, or a negative errno.
 */
int
spdk_py_python_thread_start(const int *cpus, int ncpus)
{
	pthread_attr_t attr;
	pthread_t tid;
	cpu_set_t set;
	int i, rc = 0;

	pthread_mutex_lock(&g_python_thread_start_lock);
	if (!g_python_thread_started) {
		CPU_ZERO(&set);
		for (i = 0; i < ncpus; i++) {
			CPU_SET(cpus[i], &set);
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (ncpus > 0) {
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
		rc = -pthread_create(&tid, &attr, shim_python_thread, NULL);
		pthread_attr_destroy(&attr);
		if (rc == 0) {
			pthread_setname_np(tid, "spdk_py_python");
			__atomic_store_n(&g_python_thread_started, true, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&g_python_thread_start_lock);
	return rc;
}

/* From a reactor: job->run(job) on the Python thread, soon. Never waits: a
 * push with no lock, and a wake-up only if the thread sleeps.
 */
void
spdk_py_python_thread_queue(struct spdk_py_job *job)
{
	assert(__atomic_load_n(&g_python_thread_started, __ATOMIC_ACQUIRE));
	shim_job_push(&g_python_thread_jobs, job);
	if (__atomic_exchange_n(&g_python_thread_sleeping, 0, __ATOMIC_SEQ_CST) == 1) {
		syscall(SYS_futex, &g_python_thread_sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}
