/* spdk/bdev_module.h */
struct spdk_bdev_module {
	const char *name;
	...;
};

/* Opaque to Python: the shim copies the base's properties in C (several are
 * bit-fields, and releases add more).
 */
struct spdk_bdev {
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
