/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Blocking file calls in C threads, for a Python disk's deferred I/O. The
 * hook decides (which file, which offset) and hands its I/O's ticket and
 * buffer over; a thread of the pool makes the preadv/pwritev/fdatasync and
 * completes the ticket (shim_deferred.c), with no Python and no GIL on the
 * way. Python threads making these calls would hand the GIL back and forth
 * around every call, and each hand-over costs more than the call. Many
 * threads, so that many calls are in flight at once, as libaio's queue has
 * them for SPDK's AIO bdev.
 */

#define _GNU_SOURCE	/* pthread affinity and names */
#include "shim_internal.h"
#include "spdk/env.h"
#include "spdk/log.h"
#include "spdk/string.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* How long a thread polls for the next job before it sleeps. Waking a
 * sleeping thread on another core (a futex call, an IPI in a VM) costs tens
 * of microseconds, more than a 4K read from the page cache: one I/O at a
 * time would pay it every time.
 */
#define SHIM_FILE_SPIN_US	100

struct shim_file_job {
	int				op;
	uint64_t			ticket;
	struct spdk_py_later_buf	*buf;		/* only for a read or a write */
	uint64_t			offset;
	uint64_t			length;		/* of an unmap or write_zeroes */
	TAILQ_ENTRY(shim_file_job)	link;
};

struct spdk_py_file_io {
	int				fd;
	pthread_mutex_t			lock;
	pthread_cond_t			work;
	TAILQ_HEAD(, shim_file_job)	jobs;
	int				running;	/* threads not yet ended */
	int				idle;		/* threads waiting for a job */
	int				queued;		/* jobs in the list (read atomically) */
	bool				spinning;	/* a thread polls queued */
	bool				spins;		/* no reactor on its cores: it may */
	bool				closing;
};

static inline bool
shim_file_has_data(int op)
{
	return op == SPDK_PY_FILE_READ || op == SPDK_PY_FILE_WRITE;
}

/* Zeroes as SPDK's AIO bdev writes them (a zeroed range), or a hole where
 * the file system cannot: a hole reads as zeroes too.
 */
static int
shim_file_zero(int fd, uint64_t offset, uint64_t length)
{
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE, offset, length) == 0) {
		return 0;
	}
	if (errno != EOPNOTSUPP) {
		return -errno;
	}
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0 ?
	       0 : -errno;
}

static int
shim_file_call(int fd, const struct shim_file_job *job)
{
	struct iovec iov;
	ssize_t n;
	size_t done = 0;

	switch (job->op) {
	case SPDK_PY_FILE_FLUSH:
		return fdatasync(fd) == 0 ? 0 : -errno;
	case SPDK_PY_FILE_UNMAP:
		/* SPDK's AIO bdev's unmap: the blocks given back to the file system. */
		return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, job->offset,
				 job->length) == 0 ? 0 : -errno;
	case SPDK_PY_FILE_WRITE_ZEROES:
		return shim_file_zero(fd, job->offset, job->length);
	default:
		break;
	}
	/* A short transfer goes on from where it stopped (a signal, a file
	 * system's own limit), as SPDK's AIO bdev would see it as one I/O.
	 */
	while (done < job->buf->len) {
		iov.iov_base = job->buf->data + done;
		iov.iov_len = job->buf->len - done;
		n = job->op == SPDK_PY_FILE_READ ? preadv(fd, &iov, 1, job->offset + done) :
		    pwritev(fd, &iov, 1, job->offset + done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;	/* 0: read past the end */
		}
		done += n;
	}
	return 0;
}

static void
shim_file_finish(struct shim_file_job *job, int status)
{
	/* -ENOENT: the I/O had failed meanwhile (timeout, delete); the deferred
	 * room says so.
	 */
	spdk_py_deferred_complete(job->ticket, status);
	if (job->buf != NULL) {
		spdk_py_later_buf_put(job->buf);
	}
	free(job);
}

static void
shim_file_io_free(struct spdk_py_file_io *f)
{
	close(f->fd);
	pthread_cond_destroy(&f->work);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* One thread at a time polls for the next job, a while, before it sleeps;
 * called and returning with the lock held.
 */
static void
shim_file_io_spin(struct spdk_py_file_io *f)
{
	uint64_t deadline;

	f->spinning = true;
	pthread_mutex_unlock(&f->lock);
	deadline = spdk_get_ticks() + SHIM_FILE_SPIN_US * spdk_get_ticks_hz() / 1000000;
	while (__atomic_load_n(&f->queued, __ATOMIC_RELAXED) == 0 && spdk_get_ticks() < deadline &&
	       !__atomic_load_n(&f->closing, __ATOMIC_RELAXED)) {
		spdk_pause();
	}
	pthread_mutex_lock(&f->lock);
	f->spinning = false;
}

static void *
shim_file_io_thread(void *arg)
{
	struct spdk_py_file_io *f = arg;
	struct shim_file_job *job;
	bool last, spun = false;
	int rc;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (TAILQ_EMPTY(&f->jobs) && !f->closing) {
			if (f->spins && !f->spinning && !spun) {
				shim_file_io_spin(f);
				spun = true;
				continue;
			}
			f->idle++;
			pthread_cond_wait(&f->work, &f->lock);
			f->idle--;
		}
		job = TAILQ_FIRST(&f->jobs);
		if (job == NULL) {
			break;	/* closing, and nothing left to do */
		}
		TAILQ_REMOVE(&f->jobs, job, link);
		__atomic_store_n(&f->queued, f->queued - 1, __ATOMIC_RELAXED);
		spun = false;
		pthread_mutex_unlock(&f->lock);
		rc = shim_file_call(f->fd, job);
		if (rc != 0) {
			SPDK_ERRLOG("spdk_py: file I/O (op %d, offset %" PRIu64 ") failed: %s\n",
				    job->op, job->offset, spdk_strerror(-rc));
		}
		shim_file_finish(job, rc == 0 ? SPDK_BDEV_IO_STATUS_SUCCESS : SPDK_BDEV_IO_STATUS_FAILED);
		pthread_mutex_lock(&f->lock);
	}
	last = --f->running == 0;
	pthread_mutex_unlock(&f->lock);
	if (last) {
		shim_file_io_free(f);	/* no call can use the descriptor any more */
	}
	return NULL;
}

static bool
shim_file_io_reactor_free(const int *cpus, int ncpus)
{
	uint32_t core;
	int i;

	for (i = 0; i < ncpus; i++) {
		SPDK_ENV_FOREACH_CORE(core) {
			if ((int)core == cpus[i]) {
				return false;
			}
		}
	}
	return true;
}

/* A pool of threads on fd (the pool's now: closed when its last thread
 * ends), each pinned to cpus (the cores no reactor polls). NULL on failure
 * (fd is then still the caller's).
 */
struct spdk_py_file_io *
spdk_py_file_io_start(int fd, int threads, const int *cpus, int ncpus)
{
	struct spdk_py_file_io *f;
	pthread_attr_t attr;
	pthread_t tid;
	cpu_set_t set;
	int i;

	if (threads < 1 || ncpus < 1) {
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return NULL;
	}
	f->fd = fd;
	/* Polling on a reactor's core would take it from the reactor. */
	f->spins = shim_file_io_reactor_free(cpus, ncpus);
	TAILQ_INIT(&f->jobs);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->work, NULL);
	CPU_ZERO(&set);
	for (i = 0; i < ncpus; i++) {
		CPU_SET(cpus[i], &set);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&tid, &attr, shim_file_io_thread, f) != 0) {
			break;
		}
		pthread_setname_np(tid, "spdk_py_file");
		f->running++;
	}
	pthread_attr_destroy(&attr);
	if (f->running == 0) {
		pthread_mutex_unlock(&f->lock);
		pthread_cond_destroy(&f->work);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return NULL;
	}
	pthread_mutex_unlock(&f->lock);
	return f;
}

/* Whether the file system under fd punches holes (an unmap): tried past
 * the file's end, where it gives back nothing.
 */
bool
spdk_py_file_can_punch(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		return false;
	}
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, 4096) == 0;
}

/* Hand a deferred I/O over (its ticket and Python's reference to its
 * buffer: a read's or a write's only; length is an unmap's or a
 * write_zeroes'). From here on the pool completes it, whatever happens:
 * also when it cannot be queued.
 */
void
spdk_py_file_io_submit(struct spdk_py_file_io *f, int op, uint64_t ticket,
		       struct spdk_py_later_buf *buf, uint64_t offset, uint64_t length)
{
	struct shim_file_job *job;

	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		SPDK_ERRLOG("spdk_py: no memory for a file I/O; it fails\n");
		spdk_py_deferred_complete(ticket, SPDK_BDEV_IO_STATUS_FAILED);
		if (buf != NULL) {
			spdk_py_later_buf_put(buf);
		}
		return;
	}
	job->op = op;
	job->ticket = ticket;
	job->buf = buf;
	job->offset = offset;
	job->length = length;
	if (shim_file_has_data(op) != (buf != NULL)) {
		shim_file_finish(job, SPDK_BDEV_IO_STATUS_FAILED);	/* a hook's mistake */
		return;
	}
	pthread_mutex_lock(&f->lock);
	TAILQ_INSERT_TAIL(&f->jobs, job, link);
	__atomic_store_n(&f->queued, f->queued + 1, __ATOMIC_RELAXED);
	/* A wake-up is a system call: only when a thread sleeps and the one
	 * polling (if any) has a job already.
	 */
	if (f->idle > 0 && (!f->spinning || f->queued > 1)) {
		pthread_cond_signal(&f->work);
	}
	pthread_mutex_unlock(&f->lock);
}

/* Never waits: each thread ends once the jobs queued are done, and the last
 * closes the descriptor. Nothing may be submitted after this.
 */
void
spdk_py_file_io_close(struct spdk_py_file_io *f)
{
	pthread_mutex_lock(&f->lock);
	__atomic_store_n(&f->closing, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&f->work);
	pthread_mutex_unlock(&f->lock);
}
