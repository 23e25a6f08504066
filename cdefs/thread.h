/* spdk/thread.h */
struct spdk_thread;
struct spdk_io_channel;

struct spdk_thread *spdk_get_thread(void);
const char *spdk_thread_get_name(const struct spdk_thread *thread);
uint64_t spdk_thread_get_id(const struct spdk_thread *thread);
struct spdk_thread *spdk_thread_get_by_id(uint64_t id);
bool spdk_thread_is_exited(struct spdk_thread *thread);
struct spdk_io_channel *spdk_get_io_channel(void *io_device);
void spdk_put_io_channel(struct spdk_io_channel *ch);
