/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * A file's I/O through Linux AIO, for a Python disk's deferred I/O, as
 * SPDK's AIO bdev does it: the hook's reactor submits (io_submit), and a
 * poller on that reactor reaps (from the completion ring in user space,
 * with no system call while nothing is done) and completes the ticket
 * there. No thread in between: where the reactors have every core, threads
 * would take the reactors' cores from them. For a file opened O_DIRECT
 * (else io_submit copies through the page cache before it returns).
 *
 * Each SPDK thread that submits gets a context of its own (an AIO context
 * and its poller), made at its first I/O and ended on that thread once the
 * file is closing and nothing is in flight there; the last one closes the
 * descriptor.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/string.h"
#include "spdk/thread.h"

#include <linux/aio_abi.h>
#include <sys/syscall.h>

/* Completions one context holds at once (more wait in its retry list). */
#define SHIM_AIO_DEPTH		512
#define SHIM_AIO_REAP		64

struct spdk_py_file_aio {
	int				fd;
	int				refs;		/* Python's, and each context's (atomic) */
	bool				closing;	/* atomic */
};

struct shim_aio_task {
	struct iocb			iocb;
	uint64_t			ticket;
	struct spdk_py_later_buf	*buf;		/* NULL for a flush */
	struct shim_aio_ctx		*ctx;
	TAILQ_ENTRY(shim_aio_task)	link;		/* waiting to be submitted */
};

struct shim_aio_ctx {
	struct spdk_py_file_aio		*file;
	aio_context_t			aio;
	struct spdk_poller		*poller;
	int				inflight;
	TAILQ_HEAD(, shim_aio_task)	retry;		/* the kernel said EAGAIN */
	struct shim_aio_ctx		*next;		/* this thread's contexts */
};

/* The kernel's completion ring, which an AIO context points at (what SPDK's
 * AIO bdev reads too): reaped here without a system call.
 */
struct shim_aio_ring {
	uint32_t	id;
	uint32_t	size;
	uint32_t	head;
	uint32_t	tail;
	uint32_t	magic;
	uint32_t	compat_features;
	uint32_t	incompat_features;
	uint32_t	header_length;
	struct io_event	events[0];
};

#define SHIM_AIO_RING_MAGIC	0xa10a10a1

static __thread struct shim_aio_ctx *t_aio_ctxs;

static void
shim_aio_file_put(struct spdk_py_file_aio *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(f->fd);
		free(f);
	}
}

static void
shim_aio_finish(struct shim_aio_task *task, int status)
{
	/* On the I/O's thread, outside a batch: it completes now. */
	spdk_py_deferred_complete(task->ticket, status);
	if (task->buf != NULL) {
		spdk_py_later_buf_put(task->buf);
	}
	free(task);
}

static int
shim_aio_reap_ring(struct shim_aio_ctx *ctx, struct io_event *events)
{
	struct shim_aio_ring *ring = (struct shim_aio_ring *)(uintptr_t)ctx->aio;
	struct timespec none = { 0, 0 };
	uint32_t head, tail;
	int n = 0;

	if (ring->magic != SHIM_AIO_RING_MAGIC || ring->incompat_features != 0) {
		return syscall(SYS_io_getevents, ctx->aio, 0, SHIM_AIO_REAP, events, &none);
	}
	head = ring->head;
	tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	while (head != tail && n < SHIM_AIO_REAP) {
		events[n++] = ring->events[head];
		head = (head + 1) % ring->size;
	}
	__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
	return n;
}

static int
shim_aio_submit_one(struct shim_aio_ctx *ctx, struct shim_aio_task *task)
{
	struct iocb *iocb = &task->iocb;
	long rc = syscall(SYS_io_submit, ctx->aio, 1, &iocb);

	if (rc == 1) {
		ctx->inflight++;
		return 0;
	}
	return rc < 0 ? -errno : -EAGAIN;
}

static void
shim_aio_ctx_end(struct shim_aio_ctx *ctx)
{
	struct shim_aio_ctx **p;

	for (p = &t_aio_ctxs; *p != ctx; p = &(*p)->next) {
	}
	*p = ctx->next;
	spdk_poller_unregister(&ctx->poller);
	syscall(SYS_io_destroy, ctx->aio);
	shim_aio_file_put(ctx->file);
	free(ctx);
}

static int
shim_aio_poll(void *arg)
{
	struct shim_aio_ctx *ctx = arg;
	struct io_event events[SHIM_AIO_REAP];
	struct shim_aio_task *task;
	int i, n, rc, done = 0;

	n = shim_aio_reap_ring(ctx, events);
	for (i = 0; i < n; i++) {
		task = (struct shim_aio_task *)(uintptr_t)events[i].data;
		ctx->inflight--;
		/* A short transfer on an O_DIRECT file is an error, as for SPDK's AIO bdev. */
		if ((int64_t)events[i].res < 0 ||
		    (task->buf != NULL && (uint64_t)events[i].res != task->buf->len)) {
			SPDK_ERRLOG("spdk_py: file AIO (offset %llu) failed: %lld\n",
				    (unsigned long long)task->iocb.aio_offset, (long long)events[i].res);
			shim_aio_finish(task, SPDK_BDEV_IO_STATUS_FAILED);
		} else {
			shim_aio_finish(task, SPDK_BDEV_IO_STATUS_SUCCESS);
		}
		done++;
	}
	while ((task = TAILQ_FIRST(&ctx->retry)) != NULL) {
		rc = shim_aio_submit_one(ctx, task);
		if (rc == -EAGAIN) {
			break;
		}
		TAILQ_REMOVE(&ctx->retry, task, link);
		if (rc != 0) {
			SPDK_ERRLOG("spdk_py: file AIO submit failed: %s\n", spdk_strerror(-rc));
			shim_aio_finish(task, SPDK_BDEV_IO_STATUS_FAILED);
		}
		done++;
	}
	if (__atomic_load_n(&ctx->file->closing, __ATOMIC_ACQUIRE) && ctx->inflight == 0 &&
	    TAILQ_EMPTY(&ctx->retry)) {
		shim_aio_ctx_end(ctx);
	}
	return done ? SPDK_POLLER_BUSY : SPDK_POLLER_IDLE;
}

/* This thread's context for f, made at its first I/O here. */
static struct shim_aio_ctx *
shim_aio_ctx_get(struct spdk_py_file_aio *f)
{
	struct shim_aio_ctx *ctx;

	for (ctx = t_aio_ctxs; ctx != NULL; ctx = ctx->next) {
		if (ctx->file == f) {
			return ctx;
		}
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return NULL;
	}
	if (syscall(SYS_io_setup, SHIM_AIO_DEPTH, &ctx->aio) != 0) {
		SPDK_ERRLOG("spdk_py: io_setup: %s\n", spdk_strerror(errno));
		free(ctx);
		return NULL;
	}
	ctx->poller = spdk_poller_register(shim_aio_poll, ctx, 0);
	if (ctx->poller == NULL) {
		syscall(SYS_io_destroy, ctx->aio);
		free(ctx);
		return NULL;
	}
	TAILQ_INIT(&ctx->retry);
	ctx->file = f;
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
	ctx->next = t_aio_ctxs;
	t_aio_ctxs = ctx;
	return ctx;
}

/* f owns fd from here on (closed when Python and every context are done). */
struct spdk_py_file_aio *
spdk_py_file_aio_open(int fd)
{
	struct spdk_py_file_aio *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->fd = fd;
		f->refs = 1;
	}
	return f;
}

/* From a reactor (the hook's): hand a deferred I/O over, its ticket and
 * Python's reference to its buffer (none for a flush). From here on this
 * completes it, whatever happens.
 */
void
spdk_py_file_aio_submit(struct spdk_py_file_aio *f, int op, uint64_t ticket,
			struct spdk_py_later_buf *buf, uint64_t offset)
{
	struct shim_aio_task *task = calloc(1, sizeof(*task));
	struct shim_aio_ctx *ctx = spdk_get_thread() != NULL ? shim_aio_ctx_get(f) : NULL;
	int rc;

	if (task == NULL || ctx == NULL || op > SPDK_PY_FILE_FLUSH ||
	    (op != SPDK_PY_FILE_FLUSH) != (buf != NULL)) {
		/* Linux AIO has no fallocate: FileAio hands unmaps to C threads. */
		SPDK_ERRLOG("spdk_py: a file AIO %s; it fails\n", task == NULL ? "had no memory" :
			    ctx == NULL ? "has no AIO context (not on a reactor?)" :
			    op > SPDK_PY_FILE_FLUSH ? "is not a read, write or flush" :
			    "had no buffer, or a flush had one");
		spdk_py_deferred_complete(ticket, SPDK_BDEV_IO_STATUS_FAILED);
		if (buf != NULL) {
			spdk_py_later_buf_put(buf);
		}
		free(task);
		return;
	}
	task->ticket = ticket;
	task->buf = buf;
	task->ctx = ctx;
	task->iocb.aio_data = (uintptr_t)task;
	task->iocb.aio_fildes = f->fd;
	task->iocb.aio_lio_opcode = op == SPDK_PY_FILE_READ ? IOCB_CMD_PREAD :
				    op == SPDK_PY_FILE_WRITE ? IOCB_CMD_PWRITE : IOCB_CMD_FDSYNC;
	if (buf != NULL) {
		task->iocb.aio_buf = (uintptr_t)buf->data;
		task->iocb.aio_nbytes = buf->len;
		task->iocb.aio_offset = offset;
	}
	if (!TAILQ_EMPTY(&ctx->retry)) {
		TAILQ_INSERT_TAIL(&ctx->retry, task, link);	/* in order, behind those */
		return;
	}
	rc = shim_aio_submit_one(ctx, task);
	if (rc == -EAGAIN) {
		TAILQ_INSERT_TAIL(&ctx->retry, task, link);
	} else if (rc != 0) {
		SPDK_ERRLOG("spdk_py: file AIO submit failed: %s\n", spdk_strerror(-rc));
		shim_aio_finish(task, SPDK_BDEV_IO_STATUS_FAILED);
	}
}

/* Never waits: each context ends on its thread once its I/Os are done, and
 * the last closes the descriptor. Nothing may be submitted after this.
 */
void
spdk_py_file_aio_close(struct spdk_py_file_aio *f)
{
	__atomic_store_n(&f->closing, true, __ATOMIC_RELEASE);
	shim_aio_file_put(f);
}
