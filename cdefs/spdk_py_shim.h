/* plugin_shim/spdk_py_shim.h: the shim's own interface. */
#define SPDK_PY_MODE_PYTHON ...
#define SPDK_PY_MODE_HYBRID ...
#define SPDK_PY_STATUS_FORWARD ...
#define SPDK_PY_NUM_IO_TYPES ...
#define SPDK_PY_BATCH ...
#define SPDK_PY_HIST_BUCKETS ...
#define SPDK_PY_MAX_BASES ...
/* plugin_shim/spdk_compat.h: the I/O types forwarded beyond 20.07's. */
#define SPDK_PY_FORWARDS_COMPARE ...
#define SPDK_PY_HAVE_COPY ...
#define SPDK_PY_HAVE_NVME_IOV_MD ...

struct spdk_py_io_stat {
	uint64_t ios;
	uint64_t blocks;
	uint64_t errors;
	uint64_t latency_ticks;
	uint64_t latency_samples;
	uint64_t nomem_queued;
};

struct spdk_py_stats {
	struct spdk_py_io_stat by_type[...];
	uint64_t latency_hist[...];
	int64_t python_active;
};

#define SPDK_PY_NVME_CMD_BYTES ...

struct spdk_py_nvme_cmd {
	uint8_t cmd[...];
	bool admin;
	void *buf;
	size_t nbytes;
	uint32_t cdw0;
	int sct;
	int sc;
	bool success;
	...;
};

struct spdk_py_later_buf {
	size_t len;
	uint8_t *data;
	...;
};

struct spdk_py_disk_stats {
	uint64_t stall_ticks;
	uint64_t python_wait_ticks;
	uint64_t timed_out;
	int64_t pending;
	uint64_t handed_batches;
};

struct spdk_py_disk {
	struct spdk_bdev bdev;
	uint32_t io_types;
	uint32_t hooks;
	uint64_t timeout_us;
	bool off_reactor;
	bool async_hooks;
	bool routes;
	...;
};

struct spdk_py_vbdev {
	struct spdk_bdev bdev;
	struct spdk_bdev *base_bdev;
	struct spdk_bdev_desc *base_desc;
	struct spdk_thread *thread;
	void *py;
	int mode;
	uint32_t submit_types;
	uint32_t complete_types;
	uint32_t route_types;
	uint64_t route_lba_start;
	uint64_t route_lba_end;
	bool count_stats;
	bool latency_hist;
	bool memory_domains;
	uint64_t timeout_us;
	...;
};

struct spdk_py_bdev_desc {
	struct spdk_bdev *bdev;
	struct spdk_thread *thread;
	bool claimed;
	bool closing;
	...;
};

struct spdk_py_io_channel {
	struct spdk_thread *thread;
	int64_t outstanding;
	uint64_t submitted;
	uint64_t nomem_waits;
	...;
};

struct spdk_py_poller;
struct spdk_py_io_device;

extern struct spdk_bdev_module g_spdk_py_module;
void spdk_py_log(int level, const char *msg);

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

uint64_t spdk_py_io_offset_blocks(struct spdk_bdev_io *bdev_io);
uint64_t spdk_py_io_num_blocks(struct spdk_bdev_io *bdev_io);
uint64_t spdk_py_io_age_ticks(struct spdk_bdev_io *bdev_io);
int spdk_py_io_iovcnt(struct spdk_bdev_io *bdev_io);
void *spdk_py_io_iov_base(struct spdk_bdev_io *bdev_io, int i);
size_t spdk_py_io_iov_len(struct spdk_bdev_io *bdev_io, int i);
void *spdk_py_io_nvme_cmd(struct spdk_bdev_io *bdev_io);
void *spdk_py_io_bounce(struct spdk_bdev_io *bdev_io, size_t *len);
uint64_t spdk_py_vbdev_defer(struct spdk_bdev_io *bdev_io, bool task_ends);
void spdk_py_pause(bool paused);
void spdk_py_set_together(bool together);
bool spdk_py_together(void);
int spdk_py_try_lock_executor(void);
void spdk_py_unlock_executor(void);
int spdk_py_vbdev_collect_stats(struct spdk_py_vbdev *node, struct spdk_py_stats *out,
				bool counters, void *cb_arg);
void spdk_py_vbdev_unregister(struct spdk_py_vbdev *node, void *cb_arg);
void spdk_py_vbdev_shutdown(struct spdk_py_vbdev *node);

struct spdk_py_nvme_cmd *spdk_py_nvme_cmd_alloc(size_t nbytes);
void spdk_py_nvme_cmd_free(struct spdk_py_nvme_cmd *c);
int spdk_py_nvme_cmd_send(struct spdk_py_nvme_cmd *c, const char *bdev_name, void *cb_arg);

int spdk_py_deferred_complete(uint64_t ticket, int status);

struct spdk_py_disk *spdk_py_disk_alloc(const char *name, const char *product_name, void *py);
void spdk_py_disk_free(struct spdk_py_disk *disk);
int spdk_py_disk_set_geometry(struct spdk_py_disk *disk, uint32_t block_size, uint64_t num_blocks,
			      uint32_t alignment_log2, bool write_cache, const char *uuid);
int spdk_py_disk_register(struct spdk_py_disk *disk);
void spdk_py_disk_io_device_unregister(struct spdk_py_disk *disk);
void spdk_py_disk_unregister(struct spdk_py_disk *disk, void *cb_arg);
void spdk_py_disk_shutdown(struct spdk_py_disk *disk);
uint64_t spdk_py_disk_defer(struct spdk_bdev_io *bdev_io, struct spdk_py_later_buf **buf);
void spdk_py_later_buf_put(struct spdk_py_later_buf *buf);
uint64_t spdk_py_disk_keep(struct spdk_bdev_io *bdev_io);
int spdk_py_disk_resize(struct spdk_py_disk *disk, uint64_t num_blocks);
int spdk_py_disk_collect(struct spdk_py_disk *disk, struct spdk_py_disk_stats *out, void *cb_arg);
int spdk_py_python_thread_start(const int *cpus, int ncpus);
void spdk_py_disk_bases_changed(struct spdk_py_disk *disk);
void spdk_py_disk_base_slot(struct spdk_py_disk *disk, int slot);
void spdk_py_disk_fail_base(struct spdk_py_disk *disk, int slot);
uint64_t spdk_py_disk_base_ios(struct spdk_py_disk *disk, int slot);
int64_t spdk_py_disk_forwarding_writes(struct spdk_py_disk *disk);

#define SPDK_PY_FILE_READ ...
#define SPDK_PY_FILE_WRITE ...
#define SPDK_PY_FILE_FLUSH ...
#define SPDK_PY_FILE_UNMAP ...
#define SPDK_PY_FILE_WRITE_ZEROES ...
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

struct spdk_py_poller *spdk_py_poller_register(void *py, uint64_t period_us);
void spdk_py_poller_unregister(struct spdk_py_poller *p);
struct spdk_py_poller *spdk_py_fd_poller_register(void *py, int epfd, uint64_t period_us);
uintptr_t spdk_py_thread_key(void);
int spdk_py_call_later(uint64_t delay_us, void *cb_arg);
int spdk_py_thread_send(struct spdk_thread *thread, void *cb_arg);
int spdk_py_for_each_thread(void *each, void *done);
struct spdk_thread *spdk_py_thread_create(const char *name, int32_t core, int *rc);
int spdk_py_thread_exit(void);

struct spdk_py_io_device *spdk_py_io_device_register(const char *name, void *py);
void *spdk_py_io_channel_ctx(struct spdk_io_channel *ch);
void spdk_py_io_device_unregister(struct spdk_py_io_device *dev, void *done);
int spdk_py_io_device_for_each_channel(struct spdk_py_io_device *dev, void *each, void *done);

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

int spdk_py_rpc_register(const char *method, uint32_t state_mask);
void spdk_py_rpc_send_result(struct spdk_jsonrpc_request *request, const char *json, size_t len);
int spdk_py_json_write_named_raw(struct spdk_json_write_ctx *w, const char *name,
				 const char *json, size_t len);

/* Where C enters Python: implemented in Python (spdk_py/_runtime/host.py).
 * python_start, the embedding API, is declared in spdk_py/tools/ffi_build.py.
 */
extern "Python+C" void python_module_fini(void);
extern "Python+C" void python_fini_start(void);
extern "Python+C" void python_examine(struct spdk_bdev *bdev);
extern "Python+C" int python_config_json(struct spdk_json_write_ctx *w);
extern "Python+C" int python_destruct(void *py);
extern "Python+C" int python_disk_batch(uintptr_t thread, void *py, struct spdk_bdev_io **ios, int *types,
					uint64_t *offsets, uint64_t *nblocks, void **bases,
					size_t *lens, int *statuses, uint32_t *routes, int n,
					uint64_t *entered);
extern "Python+C" int python_disk_bind_bases(void *py, struct spdk_py_io_channel **table);
extern "Python+C" void python_disk_bases_failed(void *py, uint32_t slots, int status);
extern "Python+C" int python_submit_batch(uintptr_t thread, void *py, struct spdk_bdev_io **ios, int *types, int *statuses, int n);
extern "Python+C" int python_complete_batch(uintptr_t thread, void *py, struct spdk_bdev_io **ios, int *types,
					    int *statuses, int n);
extern "Python+C" bool python_io_type_supported(void *py, int type);
extern "Python+C" int python_dump_info_json(void *py, struct spdk_json_write_ctx *w);
extern "Python+C" void python_base_event(int type, struct spdk_bdev *bdev);
extern "Python+C" void python_released(void *py);
extern "Python+C" int python_rpc_call(const char *method, struct spdk_jsonrpc_request *request,
				      const char *params, size_t len);
extern "Python+C" void python_done(void *cb_arg, int rc);
extern "Python+C" int python_poll(uintptr_t thread, void *py);
extern "Python+C" void python_message(void *py);
extern "Python+C" void python_bdev_desc_event(void *py, int type);
extern "Python+C" void python_io_channel_batch(uintptr_t thread, void *py, uint64_t *tags, int *statuses, int n);
extern "Python+C" void python_io_channel_bulk(uintptr_t thread, void *py, uint32_t *slots, int *statuses, int n);
extern "Python+C" void python_io_channel_closed(void *py);
extern "Python+C" void python_app_started(void);
extern "Python+C" void python_app_stopping(void);
extern "Python+C" void python_task_expired(void *py, uint64_t ticket);
extern "Python+C" int python_io_device_channel(void *py, void *key, bool create);
extern "Python+C" int python_io_device_each(void *py, void *key);
