/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * An I/O as Python reads it: the scalars and buffers of a bdev_io, read in C
 * so Python never walks the bdev_io struct (its layout changes between SPDK
 * releases, and a cffi field read per I/O costs more than a call).
 */

#include "shim_internal.h"

/* Scalars Python needs, read in C so Python never walks the bdev_io struct. */
uint64_t
spdk_py_io_offset_blocks(struct spdk_bdev_io *bdev_io)
{
	return shim_io_has_range(bdev_io) ? bdev_io->u.bdev.offset_blocks : 0;
}

/* Its length in blocks; 0 for a type with no range. */
uint64_t
spdk_py_io_num_blocks(struct spdk_bdev_io *bdev_io)
{
	return shim_io_has_range(bdev_io) ? bdev_io->u.bdev.num_blocks : 0;
}

/* Ticks since the bdev layer took the I/O. */
uint64_t
spdk_py_io_age_ticks(struct spdk_bdev_io *bdev_io)
{
	return spdk_get_ticks() - bdev_io->internal.submit_tsc;
}

/* An NVMe command's data is one buffer, or (NVME_IOV_MD) an iovec. */
static inline struct iovec
shim_nvme_iov(struct spdk_bdev_io *bdev_io, int i)
{
#if SPDK_PY_HAVE_NVME_IOV_MD
	if (bdev_io->type == SPDK_BDEV_IO_TYPE_NVME_IOV_MD) {
		return bdev_io->u.nvme_passthru.iovs[i];
	}
#endif
	return (struct iovec) { bdev_io->u.nvme_passthru.buf, bdev_io->u.nvme_passthru.nbytes };
}

/* How many data buffers it has (an NVMe command has at most one, or an iovec). */
int
spdk_py_io_iovcnt(struct spdk_bdev_io *bdev_io)
{
	if (SHIM_NVME_TYPES & (1u << bdev_io->type)) {
#if SPDK_PY_HAVE_NVME_IOV_MD
		if (bdev_io->type == SPDK_BDEV_IO_TYPE_NVME_IOV_MD) {
			return bdev_io->u.nvme_passthru.iovcnt;
		}
#endif
		return bdev_io->u.nvme_passthru.buf && bdev_io->u.nvme_passthru.nbytes ? 1 : 0;
	}
	if (!shim_io_has_range(bdev_io)) {
		return 0;
	}
	return bdev_io->u.bdev.iovs ? bdev_io->u.bdev.iovcnt : 0;
}

/* Data buffer i: its address... */
void *
spdk_py_io_iov_base(struct spdk_bdev_io *bdev_io, int i)
{
	if (SHIM_NVME_TYPES & (1u << bdev_io->type)) {
		return shim_nvme_iov(bdev_io, i).iov_base;
	}
	return bdev_io->u.bdev.iovs[i].iov_base;
}

/* ... and its length. */
size_t
spdk_py_io_iov_len(struct spdk_bdev_io *bdev_io, int i)
{
	if (SHIM_NVME_TYPES & (1u << bdev_io->type)) {
		return shim_nvme_iov(bdev_io, i).iov_len;
	}
	return bdev_io->u.bdev.iovs[i].iov_len;
}

/* The NVMe command of a passthrough I/O (NULL for other types): a module may
 * read it, or change it before it forwards the I/O.
 */
void *
spdk_py_io_nvme_cmd(struct spdk_bdev_io *bdev_io)
{
	return SHIM_NVME_TYPES & (1u << bdev_io->type) ? &bdev_io->u.nvme_passthru.cmd : NULL;
}
