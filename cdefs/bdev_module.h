/* spdk/bdev_module.h */
enum spdk_dif_type { SPDK_DIF_DISABLE, ... };

struct spdk_bdev_module {
	const char *name;
	...;
};

/* The fields a stacked bdev copies from its base; the rest stays opaque. */
struct spdk_bdev {
	void *ctxt;
	char *name;
	char *product_name;
	int write_cache;
	uint32_t blocklen;
	uint64_t blockcnt;
	uint8_t required_alignment;
	uint32_t optimal_io_boundary;
	uint32_t md_len;
	bool md_interleave;
	enum spdk_dif_type dif_type;
	bool dif_is_head_of_md;
	uint32_t dif_check_flags;
	struct spdk_bdev_module *module;
	...;
};

enum spdk_bdev_io_status {
	SPDK_BDEV_IO_STATUS_ABORTED,
	SPDK_BDEV_IO_STATUS_MISCOMPARE,
	SPDK_BDEV_IO_STATUS_NOMEM,
	SPDK_BDEV_IO_STATUS_FAILED,
	SPDK_BDEV_IO_STATUS_PENDING,
	SPDK_BDEV_IO_STATUS_SUCCESS,
	...
};

int spdk_bdev_register(struct spdk_bdev *bdev);
int spdk_bdev_module_claim_bdev(struct spdk_bdev *bdev, struct spdk_bdev_desc *desc,
				struct spdk_bdev_module *module);
void spdk_bdev_module_release_bdev(struct spdk_bdev *bdev);
