/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Every difference between SPDK releases that the shim meets lives here, so the
 * rest of the shim reads as if there were one SPDK.
 */

#ifndef SPDK_PY_COMPAT_H
#define SPDK_PY_COMPAT_H

#include "spdk/version.h"

#define SPDK_PY_SPDK_AT_LEAST(major, minor) \
	(SPDK_VERSION_MAJOR > (major) || \
	 (SPDK_VERSION_MAJOR == (major) && SPDK_VERSION_MINOR >= (minor)))

/* 21.01 added the iovec arguments to spdk_bdev_zcopy_start(). */
#if SPDK_PY_SPDK_AT_LEAST(21, 1)
#define SPDK_PY_ZCOPY_START(desc, ch, io, cb, arg) \
	spdk_bdev_zcopy_start((desc), (ch), (io)->u.bdev.iovs, (io)->u.bdev.iovcnt, \
			      (io)->u.bdev.offset_blocks, (io)->u.bdev.num_blocks, \
			      (io)->u.bdev.zcopy.populate, (cb), (arg))
#else
#define SPDK_PY_ZCOPY_START(desc, ch, io, cb, arg) \
	spdk_bdev_zcopy_start((desc), (ch), (io)->u.bdev.offset_blocks, \
			      (io)->u.bdev.num_blocks, (io)->u.bdev.zcopy.populate, (cb), (arg))
#endif

/* 23.01 added a reset mode to spdk_bdev_get_device_stat(). */
#if SPDK_PY_SPDK_AT_LEAST(23, 1)
#define SPDK_PY_GET_DEVICE_STAT(bdev, stat, cb, arg) \
	spdk_bdev_get_device_stat((bdev), (stat), SPDK_BDEV_RESET_STAT_NONE, (cb), (arg))
#else
#define SPDK_PY_GET_DEVICE_STAT(bdev, stat, cb, arg) \
	spdk_bdev_get_device_stat((bdev), (stat), (cb), (arg))
#endif

#endif /* SPDK_PY_COMPAT_H */
