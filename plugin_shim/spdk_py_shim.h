/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The shim's PUBLIC header: what Python sees through CFFI, and nothing else.
 * The functions Python calls, the callbacks Python implements for C (the
 * python_* functions, defined in the CFFI-generated file: where C enters
 * Python), the structs Python reads or writes, and the constants it uses.
 * cdefs/spdk_py_shim.h declares the same for cffi, by hand (cffi wants
 * `...;` partial structs and `#define X ...`);
 * tests/unit/test_shim_header_drift.py fails when the two differ. What only
 * the shim's C files share is in shim_internal.h.
 */

#ifndef SPDK_PY_SHIM_H
#define SPDK_PY_SHIM_H

#include "spdk/stdinc.h"
#include "spdk/bdev.h"
#include "spdk/bdev_module.h"
#include "spdk/json.h"
#include "spdk/jsonrpc.h"
#include "spdk/thread.h"
#include "spdk/util.h"

/* Dispatch modes of a vbdev. Each I/O takes the mode current when it is
 * submitted and keeps it to its completion, so a mode switch needs no quiesce.
 */
#define SPDK_PY_MODE_PYTHON	0	/* Python sees every I/O */
#define SPDK_PY_MODE_HYBRID	1	/* C forwards; Python sees the routed ones */

/* What a vbdev's submit batch (or a Later) says of an I/O besides a bdev
 * status: it goes on to the base, as a hook returning None says.
 */
#define SPDK_PY_STATUS_FORWARD	2

/* Room for the I/O types of every SPDK release, in per-type counters. */
#define SPDK_PY_NUM_IO_TYPES	32

/* Most I/Os one Python call sees. */
#define SPDK_PY_BATCH		128

/* Latency histogram buckets: bucket b counts latencies below 2^b ticks. */
#define SPDK_PY_HIST_BUCKETS	40

/* Per-I/O-type counters of completed I/Os. */
struct spdk_py_io_stat {
	uint64_t	ios;
	uint64_t	blocks;
	uint64_t	errors;
	uint64_t	latency_ticks;	/* submit to completion, summed over the samples */
	uint64_t	latency_samples; /* every I/O the bdev layer counts, else sampled */
	uint64_t	nomem_queued;	/* times the base said -ENOMEM and the I/O waited */
};

struct spdk_py_stats {
	struct spdk_py_io_stat	by_type[SPDK_PY_NUM_IO_TYPES];
	/* Every I/O's latency, if the vbdev asks: type t's buckets start at
	 * t * SPDK_PY_HIST_BUCKETS. Apart from by_type, so that the counters
	 * every I/O touches stay close together.
	 */
	uint64_t		latency_hist[SPDK_PY_NUM_IO_TYPES * SPDK_PY_HIST_BUCKETS];
	/* I/Os on Python's path that left the submit queue and are not done:
	 * zero (with submissions paused) means no Python code holds an I/O.
	 */
	int64_t			python_active;
};

/* One virtual bdev. The Python object behind it is reached through py.
 * Python writes mode and the routing policy on the app thread; reactors read
 * them once per I/O.
 */
struct spdk_py_vbdev {
	struct spdk_bdev	bdev;		/* the vbdev itself */
	/* From here to route_lba_end, every I/O reads: one cache line. */
	struct spdk_bdev_desc	*base_desc	/* the base's, opened for writing */
	__attribute__((aligned(SPDK_CACHE_LINE_SIZE)));
	struct spdk_bdev	*base_bdev;	/* the bdev we attach to */
	struct spdk_thread	*thread;	/* where the base was opened (and is closed) */
	void			*py;		/* ffi handle of the Python vbdev object */
	int			mode;		/* SPDK_PY_MODE_* */
	/* Of the I/Os on Python's path (python mode, or routed), the types whose
	 * submit and completion Python hooks; the others C forwards or completes
	 * as the plain passthru would.
	 */
	uint32_t		submit_types;
	uint32_t		complete_types;
	uint32_t		route_types;	/* hybrid: bit (1 << type) sends a type to Python */
	uint64_t		route_lba_start; /* hybrid: and I/Os touching [start, end) */
	uint64_t		route_lba_end;
	bool			count_stats;	/* keep the per-type counters */
	bool			latency_hist;	/* and a latency histogram (needs count_stats) */
	bool			memory_domains;	/* the base's memory domains are ours (data untouched) */
	uint64_t		timeout_us;	/* an I/O a hook keeps fails after this; 0: never */
	struct spdk_py_stats	retired;	/* counters of channels already destroyed */
	/* SPDK refuses to unregister an io_device with a for_each_channel in
	 * flight (ours, or the bdev layer's on the vbdev): unregistering either
	 * waits for the collections to end.
	 */
	int			collecting;
	bool			unregister_pending;
	bool			unregister_notify;
	bool			bdev_unregister_pending;
	void			*bdev_unregister_arg;	/* its python_done cb_arg */
	bool			deleting;	/* its hooks keep no I/O from now on */
};

/* The size of an NVMe command (struct spdk_nvme_cmd, 64 bytes). */
#define SPDK_PY_NVME_CMD_BYTES	64

/* One NVMe command Python sends to a bdev (shim_nvme_cmd.c). Python fills the
 * command, the direction and the data; C fills the completion.
 */
struct spdk_py_nvme_cmd {
	uint8_t				cmd[SPDK_PY_NVME_CMD_BYTES];
	bool				admin;		/* an admin command, else an I/O command */
	void				*buf;		/* DMA memory of nbytes, or NULL */
	size_t				nbytes;
	/* The completion. */
	uint32_t			cdw0;
	int				sct;
	int				sc;
	bool				success;
	/* C's own. */
	struct shim_nvme_target		*target;	/* the bdev's descriptor and channel */
	void				*cb_arg;
	struct spdk_bdev_io_wait_entry	wait;
};

/* The bases a disk can route I/O to, by slot (a bit of a route's mask). */
#define SPDK_PY_MAX_BASES	32

/* A disk's figures, over its channels (spdk_py_disk_collect). */
struct spdk_py_disk_stats {
	uint64_t	stall_ticks;	/* a reactor's longest wait to enter Python, or to hand
					 * a batch to the Python thread */
	uint64_t	python_wait_ticks; /* the Python thread's longest wait for the GIL */
	uint64_t	timed_out;	/* I/Os failed past the disk's timeout */
	int64_t		pending;	/* deferred I/Os not completed yet */
	uint64_t	handed_batches;	/* batches another reactor ran (spdk_py_hand_over) */
};

/* A base bdev implemented in Python (shim_disk.c). */
struct spdk_py_disk {
	struct spdk_bdev	bdev;
	void			*py;		/* ffi handle of the Python disk object */
	uint32_t		io_types;	/* advertised: hooks, and RESET */
	uint32_t		hooks;		/* the types Python's hooks do */
	uint64_t		timeout_us;	/* a pending I/O fails after this; 0: never */
	bool			off_reactor;	/* its batches run on the Python thread */
	bool			async_hooks;	/* a hook's task runs on its I/O's thread */
	bool			deleting;
	struct spdk_py_disk_stats retired;	/* channels gone: their figures */
	int			collecting;	/* collections in flight */
	bool			unregister_pending;
	/* Routing to bases (shim_base_bdevs.c), for a disk whose Python routes. */
	bool			routes;
	uint32_t		bases_gen;	/* bumped when the bases change (atomic) */
	uint32_t		failed_bases;	/* slots no I/O goes to (atomic) */
	uint32_t		slot_gen[SPDK_PY_MAX_BASES]; /* bumped when a slot is reused */
	uint64_t		base_ios[SPDK_PY_MAX_BASES]; /* children sent (atomic) */
	int64_t			forwarding_writes; /* routed writes in flight (atomic) */
};

/* A deferred I/O's data, apart from the caller's: the I/O and Python each
 * hold a reference (a late worker writes into it, not into freed buffers).
 */
struct spdk_py_later_buf {
	int				refs;
	size_t				len;
	uint8_t				*data;		/* DMA memory, page-aligned (O_DIRECT) */
};

/* A bdev Python opened (shim_bdev_desc.c). */
struct spdk_py_bdev_desc {
	struct spdk_bdev_desc		*desc;
	struct spdk_bdev		*bdev;
	struct spdk_thread		*thread;	/* opened here, closed here */
	void				*py;		/* ffi handle of the Python BdevDesc */
	bool				claimed;
	bool				closing;
	int				channels;	/* open, on any thread (atomic) */
	void				*close_done;	/* its python_done cb_arg */
};

/* A descriptor's I/O channel on one thread, and the I/Os out on it. */
struct spdk_py_io_channel {
	struct spdk_py_bdev_desc		*desc;
	struct spdk_io_channel			*ch;
	struct spdk_thread			*thread;
	void					*py;		/* ffi handle of the IoChannel */
	struct spdk_poller			*poller;	/* while I/Os are out */
	int64_t					outstanding;	/* Python's, not yet delivered */
	int64_t					routed;		/* C's (routed children), out */
	bool					closing;
	uint64_t				submitted;
	uint64_t				nomem_waits;	/* times an I/O waited for a bdev_io */
	TAILQ_HEAD(, spdk_py_own_io)		done;		/* for Python's next batch */
	TAILQ_HEAD(, spdk_py_own_io)		spare;
	uint64_t				tags[SPDK_PY_BATCH];
	int					statuses[SPDK_PY_BATCH];
	uint32_t				bulk_slots[SPDK_PY_BATCH];
	int					bulk_statuses[SPDK_PY_BATCH];
};

/* Handles Python holds, defined in C alone. */
struct spdk_py_poller;
struct spdk_py_io_device;

/* Module-level (shim_module.c). */
extern struct spdk_bdev_module g_spdk_py_module;
void spdk_py_log(int level, const char *msg);

/* Vbdev lifetime (shim_vbdev.c). */
struct spdk_py_vbdev *spdk_py_vbdev_alloc(const char *name, const char *product_name, void *py);
void spdk_py_vbdev_free(struct spdk_py_vbdev *node);
int spdk_py_vbdev_open_base(struct spdk_py_vbdev *node, const char *base_name);
void spdk_py_vbdev_close_base(struct spdk_py_vbdev *node);
void spdk_py_vbdev_copy_properties(struct spdk_py_vbdev *node);
int spdk_py_vbdev_follow_resize(struct spdk_py_vbdev *node);
void spdk_py_bdev_uuid(struct spdk_bdev *bdev, char *out);
int spdk_py_vbdev_set_uuid(struct spdk_py_vbdev *node, const char *uuid);
void spdk_py_vbdev_io_device_register(struct spdk_py_vbdev *node);
void spdk_py_vbdev_io_device_unregister(struct spdk_py_vbdev *node, bool notify);
int spdk_py_vbdev_collect_stats(struct spdk_py_vbdev *node, struct spdk_py_stats *out,
				bool counters, void *cb_arg);
void spdk_py_vbdev_unregister(struct spdk_py_vbdev *node, void *cb_arg);
void spdk_py_vbdev_shutdown(struct spdk_py_vbdev *node);

/* An I/O as Python reads it (shim_bdev_io.c): each reads its own fields in C. */
uint64_t spdk_py_io_offset_blocks(struct spdk_bdev_io *bdev_io);
uint64_t spdk_py_io_num_blocks(struct spdk_bdev_io *bdev_io);
uint64_t spdk_py_io_age_ticks(struct spdk_bdev_io *bdev_io);
int spdk_py_io_iovcnt(struct spdk_bdev_io *bdev_io);
void *spdk_py_io_iov_base(struct spdk_bdev_io *bdev_io, int i);
size_t spdk_py_io_iov_len(struct spdk_bdev_io *bdev_io, int i);
void *spdk_py_io_nvme_cmd(struct spdk_bdev_io *bdev_io);

/* A buffer Python fills for a write to go on from (shim_forward.c). */
void *spdk_py_io_bounce(struct spdk_bdev_io *bdev_io, size_t *len);

/* A vbdev's I/O its submit hook keeps (a Later; shim_vbdev_io.c). */
uint64_t spdk_py_vbdev_defer(struct spdk_bdev_io *bdev_io, bool task_ends);

/* NVMe commands sent to a bdev (shim_nvme_cmd.c). */
struct spdk_py_nvme_cmd *spdk_py_nvme_cmd_alloc(size_t nbytes);
void spdk_py_nvme_cmd_free(struct spdk_py_nvme_cmd *c);
int spdk_py_nvme_cmd_send(struct spdk_py_nvme_cmd *c, const char *bdev_name, void *cb_arg);

/* Deferred completion (shim_deferred.c). */
int spdk_py_deferred_complete(uint64_t ticket, int status);

/* Disks (shim_disk.c). */
struct spdk_py_disk *spdk_py_disk_alloc(const char *name, const char *product_name, void *py);
void spdk_py_disk_free(struct spdk_py_disk *disk);
int spdk_py_disk_set_geometry(struct spdk_py_disk *disk, uint32_t block_size, uint64_t num_blocks,
			      uint32_t alignment_log2, bool write_cache, const char *uuid);
int spdk_py_disk_register(struct spdk_py_disk *disk);
void spdk_py_disk_io_device_unregister(struct spdk_py_disk *disk);
void spdk_py_disk_unregister(struct spdk_py_disk *disk, void *cb_arg);
void spdk_py_disk_shutdown(struct spdk_py_disk *disk);
int spdk_py_disk_resize(struct spdk_py_disk *disk, uint64_t num_blocks);
int spdk_py_disk_collect(struct spdk_py_disk *disk, struct spdk_py_disk_stats *out, void *cb_arg);

/* A disk's I/O that Python completes later (shim_disk_later.c). */
uint64_t spdk_py_disk_defer(struct spdk_bdev_io *bdev_io, struct spdk_py_later_buf **buf);
void spdk_py_later_buf_put(struct spdk_py_later_buf *buf);
uint64_t spdk_py_disk_keep(struct spdk_bdev_io *bdev_io);

/* The gate into Python (shim_gate.c): the executor lock (batches share it
 * when reactors run Python together; a hot reload takes it alone), the
 * reload's pause, and the Python thread.
 */
void spdk_py_pause(bool paused);
void spdk_py_set_together(bool together);
bool spdk_py_together(void);
int spdk_py_try_lock_executor(void);
void spdk_py_unlock_executor(void);
int spdk_py_python_thread_start(const int *cpus, int ncpus);

/* A file's calls for a disk's deferred I/O: in C threads (shim_file_io.c), or
 * through Linux AIO from the reactor (shim_file_aio.c).
 */
#define SPDK_PY_FILE_READ	0
#define SPDK_PY_FILE_WRITE	1
#define SPDK_PY_FILE_FLUSH	2
#define SPDK_PY_FILE_UNMAP	3	/* a hole punched */
#define SPDK_PY_FILE_WRITE_ZEROES	4
struct spdk_py_file_io;
struct spdk_py_file_io *spdk_py_file_io_start(int fd, int threads, const int *cpus, int ncpus);
void spdk_py_file_io_submit(struct spdk_py_file_io *f, int op, uint64_t ticket,
			    struct spdk_py_later_buf *buf, uint64_t offset, uint64_t length);
bool spdk_py_file_can_punch(int fd);
void spdk_py_file_io_close(struct spdk_py_file_io *f);
struct spdk_py_file_aio;
struct spdk_py_file_aio *spdk_py_file_aio_open(int fd);
void spdk_py_file_aio_submit(struct spdk_py_file_aio *f, int op, uint64_t ticket,
			     struct spdk_py_later_buf *buf, uint64_t offset);
void spdk_py_file_aio_close(struct spdk_py_file_aio *f);

/* A disk's I/O routed to its bases in C (shim_base_bdevs.c). */
void spdk_py_disk_bases_changed(struct spdk_py_disk *disk);
void spdk_py_disk_base_slot(struct spdk_py_disk *disk, int slot);
void spdk_py_disk_fail_base(struct spdk_py_disk *disk, int slot);
uint64_t spdk_py_disk_base_ios(struct spdk_py_disk *disk, int slot);
int64_t spdk_py_disk_forwarding_writes(struct spdk_py_disk *disk);

/* Pollers, timers, messages and new SPDK threads (shim_thread.c). */
struct spdk_py_poller *spdk_py_poller_register(void *py, uint64_t period_us);
void spdk_py_poller_unregister(struct spdk_py_poller *p);
struct spdk_py_poller *spdk_py_fd_poller_register(void *py, int epfd, uint64_t period_us);
uintptr_t spdk_py_thread_key(void);
int spdk_py_call_later(uint64_t delay_us, void *cb_arg);
int spdk_py_thread_send(struct spdk_thread *thread, void *cb_arg);
int spdk_py_for_each_thread(void *each, void *done);
struct spdk_thread *spdk_py_thread_create(const char *name, int32_t core, int *rc);
int spdk_py_thread_exit(void);

/* Python's io_devices (shim_io_device.c). */
struct spdk_py_io_device *spdk_py_io_device_register(const char *name, void *py);
void *spdk_py_io_channel_ctx(struct spdk_io_channel *ch);
void spdk_py_io_device_unregister(struct spdk_py_io_device *dev, void *done);
int spdk_py_io_device_for_each_channel(struct spdk_py_io_device *dev, void *each, void *done);

/* Bdevs Python opens (shim_bdev_desc.c) and its own I/O on them (shim_io_channel.c). */
int spdk_py_bdev_desc_open(const char *name, bool write, void *py, struct spdk_py_bdev_desc **out);
int spdk_py_bdev_desc_claim(struct spdk_py_bdev_desc *d);
void spdk_py_bdev_desc_close(struct spdk_py_bdev_desc *d, void *done);
struct spdk_py_io_channel *spdk_py_io_channel_get(struct spdk_py_bdev_desc *d, void *py);
void spdk_py_io_channel_close(struct spdk_py_io_channel *ch);
int spdk_py_io_channel_submit(struct spdk_py_io_channel *ch, int type, uint64_t tag, void *buf,
			      struct iovec *iovs, int iovcnt, uint64_t offset_blocks,
			      uint64_t num_blocks);
int spdk_py_io_channel_submit_bulk(struct spdk_py_io_channel *ch, int type, int n,
				   const uint32_t *slots, const uint64_t *offsets, uint64_t num_blocks,
				   void **bufs, uint32_t nbufs);

/* JSON-RPC plumbing (shim_rpc.c). */
int spdk_py_rpc_register(const char *method, uint32_t state_mask);
void spdk_py_rpc_send_result(struct spdk_jsonrpc_request *request, const char *json, size_t len);
int spdk_py_json_write_named_raw(struct spdk_json_write_ctx *w, const char *name,
				 const char *json, size_t len);

/* Where C enters Python: the callbacks Python implements, each named
 * python_* (extern "Python+C" in cdefs, @ffi.def_extern in
 * spdk_py/_runtime/host.py; defined in the CFFI-generated file). python_start
 * is cffi's embedding API: the first call starts the interpreter.
 */
int python_start(void);
void python_module_fini(void);
void python_fini_start(void);
void python_examine(struct spdk_bdev *bdev);
int python_config_json(struct spdk_json_write_ctx *w);
int python_destruct(void *py);
int python_disk_batch(uintptr_t thread, void *py, struct spdk_bdev_io **ios, int *types, uint64_t *offsets,
		      uint64_t *nblocks, void **bases, size_t *lens, int *statuses,
		      uint32_t *routes, int n, uint64_t *entered);
int python_disk_bind_bases(void *py, struct spdk_py_io_channel **table);
void python_disk_bases_failed(void *py, uint32_t slots, int status);
int python_submit_batch(uintptr_t thread, void *py, struct spdk_bdev_io **ios, int *types, int *statuses, int n);
int python_complete_batch(uintptr_t thread, void *py, struct spdk_bdev_io **ios, int *types, int *statuses,
			  int n);
bool python_io_type_supported(void *py, int type);
int python_dump_info_json(void *py, struct spdk_json_write_ctx *w);
void python_base_event(int type, struct spdk_bdev *bdev);
void python_released(void *py);
void python_done(void *cb_arg, int rc);
int python_poll(uintptr_t thread, void *py);
void python_message(void *py);
void python_bdev_desc_event(void *py, int type);
void python_io_channel_batch(uintptr_t thread, void *py, uint64_t *tags, int *statuses, int n);
void python_io_channel_bulk(uintptr_t thread, void *py, uint32_t *slots, int *statuses, int n);
void python_io_channel_closed(void *py);
void python_app_started(void);
void python_app_stopping(void);
void python_task_expired(void *py, uint64_t ticket);
int python_io_device_channel(void *py, void *key, bool create);
int python_io_device_each(void *py, void *key);
int python_rpc_call(const char *method, struct spdk_jsonrpc_request *request,
		    const char *params, size_t len);

#endif /* SPDK_PY_SHIM_H */
