/* spdk/bdev.h */
struct spdk_bdev;
struct spdk_bdev_desc;
struct spdk_bdev_io;

enum spdk_bdev_io_type {
	SPDK_BDEV_IO_TYPE_INVALID,
	SPDK_BDEV_IO_TYPE_READ,
	SPDK_BDEV_IO_TYPE_WRITE,
	SPDK_BDEV_IO_TYPE_UNMAP,
	SPDK_BDEV_IO_TYPE_FLUSH,
	SPDK_BDEV_IO_TYPE_RESET,
	SPDK_BDEV_IO_TYPE_NVME_ADMIN,
	SPDK_BDEV_IO_TYPE_NVME_IO,
	SPDK_BDEV_IO_TYPE_NVME_IO_MD,
	SPDK_BDEV_IO_TYPE_WRITE_ZEROES,
	SPDK_BDEV_IO_TYPE_ZCOPY,
	SPDK_BDEV_IO_TYPE_GET_ZONE_INFO,
	SPDK_BDEV_IO_TYPE_ZONE_MANAGEMENT,
	SPDK_BDEV_IO_TYPE_ZONE_APPEND,
	SPDK_BDEV_IO_TYPE_COMPARE,
	SPDK_BDEV_IO_TYPE_COMPARE_AND_WRITE,
	SPDK_BDEV_IO_TYPE_ABORT,
{% if spdk_version >= (22, 9) %}
	SPDK_BDEV_IO_TYPE_SEEK_HOLE,
	SPDK_BDEV_IO_TYPE_SEEK_DATA,
{% endif %}
{% if spdk_version >= (23, 1) %}
	SPDK_BDEV_IO_TYPE_COPY,
{% endif %}
{% if spdk_version >= (24, 1) %}
	SPDK_BDEV_IO_TYPE_NVME_IOV_MD,
{% endif %}
{% if spdk_version >= (25, 9) %}
	SPDK_BDEV_IO_TYPE_NVME_NSSR,
{% endif %}
{% if spdk_version >= (26, 1) %}
	SPDK_BDEV_IO_TYPE_WRITE_UNCORRECTABLE,
{% endif %}
	SPDK_BDEV_NUM_IO_TYPES,
	...
};

enum spdk_bdev_event_type {
	SPDK_BDEV_EVENT_REMOVE,
	SPDK_BDEV_EVENT_RESIZE,
	SPDK_BDEV_EVENT_MEDIA_MANAGEMENT,
	...
};

struct spdk_bdev *spdk_bdev_get_by_name(const char *bdev_name);
const char *spdk_bdev_get_name(const struct spdk_bdev *bdev);
bool spdk_bdev_io_type_supported(struct spdk_bdev *bdev, enum spdk_bdev_io_type io_type);
uint32_t spdk_bdev_get_block_size(const struct spdk_bdev *bdev);
uint64_t spdk_bdev_get_num_blocks(const struct spdk_bdev *bdev);
size_t spdk_bdev_get_buf_align(const struct spdk_bdev *bdev);
