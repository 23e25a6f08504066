/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The shim's INTERNAL header (SPDK's *_internal.h convention): what the
 * shim's C files share and Python never sees. Per-I/O contexts, channels, the
 * interfaces between the shim's files, and the functions one file calls in
 * another. What Python sees is in spdk_py_shim.h (the PUBLIC header, which
 * cdefs/spdk_py_shim.h mirrors); nothing here may be needed by cdefs.
 */

#ifndef SPDK_PY_SHIM_INTERNAL_H
#define SPDK_PY_SHIM_INTERNAL_H

#include "spdk_py_shim.h"
#include "spdk_compat.h"
#include "spdk/env.h"

/* States of one I/O, kept in its driver_ctx: C owns the I/O until it is done. */
#define SPDK_PY_IO_QUEUED	0	/* submitted to us, waiting for Python's batch */
#define SPDK_PY_IO_IN_PYTHON	1	/* handed to Python, not taken yet */
#define SPDK_PY_IO_OWNED	2	/* forwarded, queued or waiting for a buffer */
#define SPDK_PY_IO_DONE		3	/* completed */
#define SPDK_PY_IO_KEPT		4	/* a submit hook keeps it (a Later) */

/* Latency is sampled on one I/O in this many: reading the clock is the
 * costliest part of counting.
 */
#define SPDK_PY_LATENCY_SAMPLE	16

/* The bdev layer counts every bdev's successful reads, writes and unmaps
 * (I/Os, bytes, latency) per channel, ours included: the shim does not count
 * them twice. It counts the other types and failures, and a stats collection
 * adds the bdev layer's figures in.
 */
#define SPDK_PY_BDEV_LAYER_COUNTED \
	((1u << SPDK_BDEV_IO_TYPE_READ) | (1u << SPDK_BDEV_IO_TYPE_WRITE) | \
	 (1u << SPDK_BDEV_IO_TYPE_UNMAP))

/* A completion that comes later, from any thread, to the I/O's own thread
 * (shim_deferred.c). Embedded in the I/O's context.
 */
typedef void (*spdk_py_deferred_fn)(void *ctx, int status);

struct spdk_py_deferred {
	uint64_t			ticket;
	struct spdk_thread		*thread;	/* the I/O's */
	spdk_py_deferred_fn		done;
	void				*ctx;
	int				status;
	bool				sent;		/* its completion is on its way */
	TAILQ_ENTRY(spdk_py_deferred)	link;
};

/* An I/O Python keeps past its batch (shim_kept.c): its ticket and deadline,
 * and its place on its channel's list. Embedded in the I/O's context.
 */
struct spdk_py_kept {
	struct spdk_py_deferred		deferred;
	uint64_t			deadline;	/* ticks; 0: none */
	bool				listed;
	/* An async hook's task holds it (on the I/O's own buffers): at its
	 * deadline C asks Python to cancel the task (ops->expire); Python cancels
	 * it at a delete and the app's shutdown; the task's end completes it. C
	 * never fails it under the task.
	 */
	bool				task_ends;
	TAILQ_ENTRY(spdk_py_kept)	link;
};

/* What a kind of bdev means by failing one of its kept I/Os (a timeout, a
 * delete), by dropping one (its channel goes: release, complete nothing),
 * and by expiring one a task holds (its deadline: the task is cancelled).
 */
struct spdk_py_kept_ops {
	void	(*fail)(struct spdk_py_kept *kept);
	void	(*drop)(struct spdk_py_kept *kept);
	void	(*expire)(struct spdk_py_kept *kept);
};

/* A channel's kept I/Os, and the timer that fails them past their deadline. */
struct spdk_py_kept_list {
	TAILQ_HEAD(, spdk_py_kept)	items;
	int64_t				count;
	struct spdk_poller		*timer;		/* while one has a deadline */
	uint64_t			timed_out;
	const char			*name;		/* the bdev's, for the log */
	const struct spdk_py_kept_ops	*ops;
};

/* Per-I/O context in bdev_io->driver_ctx. What every I/O touches comes
 * first, in as few cache lines as can be.
 */
struct spdk_py_io {
	uint8_t				test;	/* the reference's marker, checked on completion */
	uint8_t				state;	/* SPDK_PY_IO_* */
	bool				via_python; /* its mode stamp: Python's path or C's */
	int				status;	/* completion status, while queued for Python */
	struct spdk_py_channel		*py_ch;	/* our channel's context */
	void				*bounce; /* a data buffer of ours, freed on completion */
	struct spdk_bdev_io		*zcopy_base; /* the base's zcopy I/O, start to end */
	struct spdk_bdev_io_wait_entry	bdev_io_wait;
	TAILQ_ENTRY(spdk_py_io)		link;	/* in a channel's queue */
	struct spdk_py_kept		kept;	/* while a hook keeps it */
};

/* A channel's queue of I/Os waiting for Python. */
TAILQ_HEAD(spdk_py_io_queue, spdk_py_io);

/* Per-channel context. In python mode, I/Os wait in the channel's queues and
 * the channel's poller hands them to Python a batch at a time.
 */
struct spdk_py_channel {
	struct spdk_io_channel		*base_ch;	/* the base bdev's channel, same thread */
	struct spdk_py_vbdev		*node;
	struct spdk_thread		*thread;
	bool				count_stats;	/* the node's, copied: read per I/O */
	bool				latency_hist;	/* likewise */
	/* On Python's path: submitted and not done (queued ones included). */
	int64_t				python_outstanding;
	struct spdk_poller		*poller;	/* only while Python has work here */
	struct spdk_py_io_queue		submitted;	/* for Python's submit_batch */
	struct spdk_py_io_queue		completed;	/* for Python's complete_batch */
	struct spdk_py_stats		stats;		/* this thread's share */
	struct spdk_bdev_io		*batch_ios[SPDK_PY_BATCH];
	int				batch_types[SPDK_PY_BATCH];
	int				batch_status[SPDK_PY_BATCH];
	const struct spdk_py_vbdev_io_ops	*io_ops;	/* the submit path's, for forwarding */
	struct spdk_py_kept_list		kept;		/* I/Os hooks keep */
};

/* What base forwarding (shim_forward.c) needs of the vbdev's submit path
 * (shim_vbdev_io.c) once a base I/O is back. Forwarding sits below that path
 * and never calls it by name: the path gives these with each channel.
 */
struct spdk_py_vbdev_io_ops {
	/* Python hooks this completion: it waits for the channel's next batch. */
	void	(*python_complete)(struct spdk_bdev_io *bdev_io, int status);
	/* The base has a bdev_io to spare again: the I/O is submitted anew. */
	void	(*resubmit)(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io);
};

/* A vbdev's I/O on to its base, and its completion (shim_forward.c). */
int spdk_py_io_queue(struct spdk_bdev_io *bdev_io);
void spdk_py_io_complete(struct spdk_bdev_io *bdev_io, int status);
int spdk_py_base_read(struct spdk_bdev_io *bdev_io);
int spdk_py_base_write(struct spdk_bdev_io *bdev_io);
int spdk_py_base_compare(struct spdk_bdev_io *bdev_io);
int spdk_py_base_copy(struct spdk_bdev_io *bdev_io);
int spdk_py_base_write_zeroes(struct spdk_bdev_io *bdev_io);
int spdk_py_base_unmap(struct spdk_bdev_io *bdev_io);
int spdk_py_base_flush(struct spdk_bdev_io *bdev_io);
int spdk_py_base_reset(struct spdk_bdev_io *bdev_io);
int spdk_py_base_zcopy(struct spdk_bdev_io *bdev_io);
int spdk_py_base_abort(struct spdk_bdev_io *bdev_io);
int spdk_py_base_nvme_admin(struct spdk_bdev_io *bdev_io);
int spdk_py_base_nvme_io(struct spdk_bdev_io *bdev_io);
int spdk_py_base_nvme_io_md(struct spdk_bdev_io *bdev_io);
int spdk_py_base_nvme_iov_md(struct spdk_bdev_io *bdev_io);
void spdk_py_forward(struct spdk_bdev_io *bdev_io);
int spdk_py_base_write_bounce(struct spdk_bdev_io *bdev_io);

/* The NVMe passthrough types: their bdev_io carries a command and a buffer. */
#define SHIM_NVME_TYPES \
	((1u << SPDK_BDEV_IO_TYPE_NVME_ADMIN) | (1u << SPDK_BDEV_IO_TYPE_NVME_IO) | \
	 (1u << SPDK_BDEV_IO_TYPE_NVME_IO_MD) | SPDK_PY_NVME_IOV_MD_BIT)

/* Types whose bdev_io has no block range (u.bdev is another member of the union). */
#define SHIM_RANGELESS_TYPES \
	(SHIM_NVME_TYPES | (1u << SPDK_BDEV_IO_TYPE_RESET) | (1u << SPDK_BDEV_IO_TYPE_ABORT) | \
	 (1u << SPDK_BDEV_IO_TYPE_GET_ZONE_INFO) | (1u << SPDK_BDEV_IO_TYPE_ZONE_MANAGEMENT))

/* A flag one thread raises and every reactor reads (a delete's): atomic,
 * so a reader needs no lock and the compiler keeps no stale copy
 * (ThreadSanitizer found the plain one).
 */
static inline void
shim_flag_raise(bool *flag)
{
	__atomic_store_n(flag, true, __ATOMIC_RELEASE);
}

static inline bool
shim_flag_up(const bool *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Whether the I/O's u.bdev holds its blocks (offset, count, buffers). */
static inline bool
shim_io_has_range(const struct spdk_bdev_io *bdev_io)
{
	return !(SHIM_RANGELESS_TYPES & (1u << bdev_io->type));
}

/* A vbdev I/O's own context, its vbdev, its channel and the base's channel. */
static inline struct spdk_py_io *
shim_io_ctx(struct spdk_bdev_io *bdev_io)
{
	return (struct spdk_py_io *)bdev_io->driver_ctx;
}

static inline struct spdk_py_vbdev *
shim_io_node(struct spdk_bdev_io *bdev_io)
{
	return SPDK_CONTAINEROF(bdev_io->bdev, struct spdk_py_vbdev, bdev);
}

static inline struct spdk_py_channel *
shim_io_channel(struct spdk_bdev_io *bdev_io)
{
	return shim_io_ctx(bdev_io)->py_ch;
}

static inline struct spdk_io_channel *
shim_io_base_ch(struct spdk_bdev_io *bdev_io)
{
	return shim_io_channel(bdev_io)->base_ch;
}

/* An I/O on Python's path leaves it (done, or submitted anew): uncount it and
 * free the buffer Python may have asked for.
 */
static inline void
shim_python_leave(struct spdk_py_io *io_ctx)
{
	io_ctx->py_ch->python_outstanding--;
	if (io_ctx->bounce != NULL) {
		spdk_free(io_ctx->bounce);
		io_ctx->bounce = NULL;
	}
}



/* Work for the Python thread (shim_gate.c): run(job) there, with
 * the GIL. Embedded in what it works on.
 */
struct spdk_py_job {
	void				(*run)(struct spdk_py_job *job);
	struct spdk_py_job		*next;		/* in the thread's queue */
};

struct spdk_py_disk_channel;

struct spdk_py_disk_io {
	uint8_t				state;
	struct spdk_py_disk_channel	*ch;
	void				*bounce;	/* a scattered I/O's data, contiguous */
	size_t				bounce_len;
	struct spdk_py_later_buf	*later_buf;	/* a deferred I/O's data */
	int				early_status;	/* completed before its batch was back */
	struct spdk_py_kept		kept;		/* once Python keeps it */
	TAILQ_ENTRY(spdk_py_disk_io)	link;		/* submitted */
	/* A routed I/O's children (shim_base_bdevs.c). */
	uint32_t			fan_mask;	/* the slots it may go to */
	uint32_t			fan_tried;	/* a read's slots that failed it */
	int				fan_left;	/* children out, and the sender's */
	bool				fan_ok;		/* a child succeeded */
	bool				fan_write;	/* counted in forwarding_writes */
	struct spdk_poller		*reset_retry;	/* a reset waiting for I/Os to drain */
};

/* A channel's batch of I/Os for Python: the arrays Python reads and writes.
 * Apart from the channel, for a batch away on the Python thread outlives a
 * channel that goes meanwhile.
 */
struct spdk_py_disk_batch {
	struct spdk_py_job			job;
	struct spdk_py_disk_channel		*ch;		/* NULL: it went while away */
	struct spdk_thread			*thread;	/* the channel's */
	void					*py;		/* the disk's Python object */
	int					n;
	uint64_t				called;		/* ns, when Python was called */
	uint64_t				entered;	/* ns, when Python ran */
	struct spdk_bdev_io			*ios[SPDK_PY_BATCH];
	int					types[SPDK_PY_BATCH];
	uint64_t				offsets[SPDK_PY_BATCH];
	uint64_t				nblocks[SPDK_PY_BATCH];
	void					*bases[SPDK_PY_BATCH];
	size_t					lens[SPDK_PY_BATCH];
	int					statuses[SPDK_PY_BATCH];
	uint32_t				routes[SPDK_PY_BATCH];	/* slots, or 0 */
};

struct spdk_py_disk_channel {
	struct spdk_py_disk			*disk;
	struct spdk_thread			*thread;
	struct spdk_poller			*poller;	/* while I/Os are queued */
	TAILQ_HEAD(, spdk_py_disk_io)		submitted;
	struct spdk_py_kept_list		kept;		/* pending: kept by Python */
	int64_t					inflight;	/* submitted, not done (resets aside) */
	uint64_t				max_stall_ticks; /* longest wait to enter Python */
	uint64_t				max_python_wait_ticks; /* the Python thread's */
	uint64_t				handed_batches;	/* run by another reactor */
	struct spdk_py_disk_batch		*batch;
	bool					away;		/* the batch is on the Python thread, or handed */
	/* This thread's channel of each base, as Python named them at bases_gen. */
	struct spdk_py_io_channel		*base_chs[SPDK_PY_MAX_BASES];
	uint32_t				bases_gen;
	uint32_t				next_read;	/* round robin */
	uint32_t				failed_report;	/* slots failed, for Python */
	int					failed_status;
	const struct spdk_py_disk_io_ops	*io_ops;	/* the disk's, for routing */
};

/* What routing to bases (shim_base_bdevs.c) needs of the disk that hosts it
 * (shim_disk_io.c). The router sits below the disk's I/O path and never calls
 * it by name: the disk gives these with each channel.
 */
struct spdk_py_disk_io_ops {
	/* A routed I/O is done: its children are back. */
	void	(*complete)(struct spdk_bdev_io *bdev_io, int status);
	/* A read to route again, through the disk's next batch (its bases changed). */
	void	(*requeue)(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io);
	/* A base failed: the channel's poller tells Python. */
	void	(*wake)(struct spdk_py_disk_channel *ch);
};

/* States of a disk's I/O, kept in its driver_ctx. */
#define SHIM_DISK_QUEUED	0
#define SHIM_DISK_IN_PYTHON	1
#define SHIM_DISK_PENDING	2
#define SHIM_DISK_DONE		3
#define SHIM_DISK_ROUTED	4	/* its children are at its bases (shim_base_bdevs.c) */
/* Kept by Python on the Python thread: pending once its batch is back. */
#define SHIM_DISK_KEPT_AWAY	5
/* ... and its completion arrived first (early_status): done then. */
#define SHIM_DISK_DONE_AWAY	6

/* A disk I/O's own context. */
static inline struct spdk_py_disk_io *
shim_disk_io(struct spdk_bdev_io *bdev_io)
{
	return (struct spdk_py_disk_io *)bdev_io->driver_ctx;
}

/* Whether the I/O carries data (Python sees its buffer). */
static inline bool
shim_disk_has_data(const struct spdk_bdev_io *bdev_io)
{
	return bdev_io->type == SPDK_BDEV_IO_TYPE_READ || bdev_io->type == SPDK_BDEV_IO_TYPE_WRITE ||
	       bdev_io->type == SPDK_BDEV_IO_TYPE_COMPARE;
}


/* Tags of bulk I/Os: this bit, and the slot of their buffer. */
#define SPDK_PY_BULK_TAG	(1ull << 63)

/* What an own I/O of C's calls when it completes, instead of Python. */
typedef void (*spdk_py_own_io_cb)(void *arg, uint64_t tag, int status);

/* One I/O Python submitted on its channel (shim_io_channel.c), or C on
 * Python's channel (a routed child: cb set).
 */
struct spdk_py_own_io {
	struct spdk_py_io_channel	*ch;
	uint64_t			tag;		/* Python's name for it */
	spdk_py_own_io_cb		cb;
	void				*cb_arg;
	int				type;
	int				status;		/* 0, or a negative errno */
	void				*buf;
	struct iovec			*iovs;		/* or these, if iovcnt > 0 */
	int				iovcnt;
	uint64_t			offset_blocks;
	uint64_t			num_blocks;
	struct spdk_bdev_io_wait_entry	wait;
	TAILQ_ENTRY(spdk_py_own_io)	link;		/* done, or spare */
};

/* An io_device of Python's (shim_io_device.c); its methods run on its thread. */
struct spdk_py_io_device {
	void				*py;		/* ffi handle of the Python IoDevice */
	char				name[64];
	int				iterating;	/* for_each_channel walks in flight */
	bool				unregister_pending;
	void				*unregister_done; /* its python_done cb_arg */
};

/* Module-level (shim_module.c). */
int spdk_py_get_ctx_size(void);

/* The walk over an io_device's channels that every collection takes
 * (shim_channel_sum.c): add(sum, a channel's context) on that channel's
 * thread, 0 to go on or the status that ends the walk; done(sum, status) on
 * the caller's thread.
 */
typedef int (*spdk_py_channel_add_fn)(void *sum, void *ch_ctx);
typedef void (*spdk_py_channel_sum_done_fn)(void *sum, int status);
int spdk_py_channel_sum(void *io_device, spdk_py_channel_add_fn add, void *sum,
			spdk_py_channel_sum_done_fn done);

/* A vbdev's submit path (shim_vbdev_io.c): the fn_table's submit_request,
 * and each channel's queues for Python.
 */
void spdk_py_submit_request(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io);
void spdk_py_vbdev_io_channel_init(struct spdk_py_channel *py_ch);
void spdk_py_vbdev_io_channel_fini(struct spdk_py_channel *py_ch);
void spdk_py_vbdev_io_fail_kept(struct spdk_py_channel *py_ch);

/* Deferred completion (shim_deferred.c). */
uint64_t spdk_py_deferred_add(struct spdk_py_deferred *d, struct spdk_thread *thread,
			       spdk_py_deferred_fn done, void *ctx);
bool spdk_py_deferred_cancel(struct spdk_py_deferred *d);
void spdk_py_deferred_batch_begin(void);
void spdk_py_deferred_batch_end(void);

/* A disk's I/O path (shim_disk_io.c): the fn_table's submit_request, and
 * each channel's batch.
 */
void spdk_py_disk_submit_request(struct spdk_io_channel *_ch, struct spdk_bdev_io *bdev_io);
int spdk_py_disk_io_channel_init(struct spdk_py_disk_channel *ch);
void spdk_py_disk_io_channel_fini(struct spdk_py_disk_channel *ch);

/* I/Os Python keeps past its batch, on their channel (shim_kept.c). */
void spdk_py_kept_list_init(struct spdk_py_kept_list *list, const char *name,
			    const struct spdk_py_kept_ops *ops);
uint64_t spdk_py_kept_take(struct spdk_py_kept *kept, uint64_t timeout_us, bool task_ends,
			   struct spdk_thread *thread, spdk_py_deferred_fn done, void *ctx);
void spdk_py_kept_list_add(struct spdk_py_kept_list *list, struct spdk_py_kept *kept);
void spdk_py_kept_list_remove(struct spdk_py_kept_list *list, struct spdk_py_kept *kept);
int spdk_py_kept_fail(struct spdk_py_kept_list *list, bool all, const char *why);
void spdk_py_kept_drop(struct spdk_py_kept_list *list);

/* How a disk's I/O ends (shim_disk_later.c): completed now, or kept pending. */
void spdk_py_disk_complete(struct spdk_bdev_io *bdev_io, int status);
void spdk_py_copy_from_iovs(struct spdk_bdev_io *bdev_io, uint8_t *dst, size_t len);
void spdk_py_disk_later_init(struct spdk_py_disk_channel *ch);
void spdk_py_disk_track_pending(struct spdk_py_disk_channel *ch, struct spdk_py_disk_io *io);

/* The gate into Python (shim_gate.c): the pause, the batches handed to
 * whoever holds Python, the Python thread.
 */
int spdk_py_try_enter(void);
void spdk_py_leave(void);
bool spdk_py_paused(void);
void spdk_py_hand_over(struct spdk_py_job *job);
int spdk_py_run_handed(void);
void spdk_py_python_thread_queue(struct spdk_py_job *job);

/* A disk's I/O routed to its bases in C (shim_base_bdevs.c). */
void spdk_py_disk_channel_bind(struct spdk_py_disk_channel *ch);
void spdk_py_disk_forward(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io,
			  uint32_t mask);
void spdk_py_disk_report_failures(struct spdk_py_disk_channel *ch);

/* A descriptor's channels (shim_bdev_desc.c), and C's own I/O on one (shim_io_channel.c). */
void spdk_py_bdev_desc_channel_added(struct spdk_py_bdev_desc *d);
void spdk_py_bdev_desc_channel_removed(struct spdk_py_bdev_desc *d);
int spdk_py_io_channel_submit_cb(struct spdk_py_io_channel *ch, int type, struct iovec *iovs,
				 int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
				 spdk_py_own_io_cb cb, void *cb_arg, uint64_t tag);

/* The app's stop, watched (shim_app.c). */
void spdk_py_app_fini(void);

/* What Python imports from (shim_module.c). */
char *spdk_py_import_path(void);

/* A vbdev's counters (shim_vbdev.c), and the end of walks over its channels
 * (shim_vbdev_unregister.c).
 */
void spdk_py_stats_add(struct spdk_py_stats *sum, const struct spdk_py_stats *part);
void spdk_py_vbdev_walk_end(struct spdk_py_vbdev *node);

#endif /* SPDK_PY_SHIM_INTERNAL_H */
