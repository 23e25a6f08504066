/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Every difference between SPDK releases that the shim meets lives here, so the
 * rest of the shim reads as if there were one SPDK. A guard names the release
 * whose headers first have what it uses.
 */

#ifndef SPDK_PY_COMPAT_H
#define SPDK_PY_COMPAT_H

#include "spdk/version.h"
#include "spdk/bdev.h"
#include "spdk/bdev_module.h"

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

/* 25.01 added a reset mode to spdk_bdev_get_device_stat(). */
#if SPDK_PY_SPDK_AT_LEAST(25, 1)
#define SPDK_PY_GET_DEVICE_STAT(bdev, stat, cb, arg) \
	spdk_bdev_get_device_stat((bdev), (stat), SPDK_BDEV_RESET_STAT_NONE, (cb), (arg))
#else
#define SPDK_PY_GET_DEVICE_STAT(bdev, stat, cb, arg) \
	spdk_bdev_get_device_stat((bdev), (stat), (cb), (arg))
#endif

/* 23.01 added COPY (the I/O type and spdk_bdev_copy_blocks()). */
#define SPDK_PY_HAVE_COPY SPDK_PY_SPDK_AT_LEAST(23, 1)

/* 21.10 added memory domains to the fn_table; 26.05 their types, and
 * deprecated get_memory_domains for removal in 26.09: from 26.05 a vbdev
 * offers the types only (the bdev layer logs a deprecation for a fn_table
 * with get_memory_domains and calls it when the types say none).
 */
#define SPDK_PY_HAVE_MEMORY_DOMAIN_TYPES SPDK_PY_SPDK_AT_LEAST(26, 5)
#define SPDK_PY_HAVE_MEMORY_DOMAINS \
	(SPDK_PY_SPDK_AT_LEAST(21, 10) && !SPDK_PY_HAVE_MEMORY_DOMAIN_TYPES)

/* 23.05 put the I/O's memory domain in the bdev_io: the _ext calls pass it on
 * with the metadata buffer, as SPDK's own passthru does. 25.01's passthru
 * also passes the I/O's DIF check flags down (24.05 added the mask).
 */
#if SPDK_PY_SPDK_AT_LEAST(23, 5)
static inline void
spdk_py_ext_io_opts(struct spdk_bdev_io *bdev_io, struct spdk_bdev_ext_io_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->size = sizeof(*opts);
	opts->memory_domain = bdev_io->u.bdev.memory_domain;
	opts->memory_domain_ctx = bdev_io->u.bdev.memory_domain_ctx;
	opts->metadata = bdev_io->u.bdev.md_buf;
#if SPDK_PY_SPDK_AT_LEAST(25, 1)
	opts->dif_check_flags_exclude_mask = ~bdev_io->u.bdev.dif_check_flags;
#endif
}

#define SPDK_PY_IO_VECTORED(fn, desc, ch, io, cb, arg) \
	({ struct spdk_bdev_ext_io_opts _opts; \
	   spdk_py_ext_io_opts((io), &_opts); \
	   spdk_bdev_##fn##_blocks_ext((desc), (ch), (io)->u.bdev.iovs, (io)->u.bdev.iovcnt, \
				     (io)->u.bdev.offset_blocks, (io)->u.bdev.num_blocks, \
				     (cb), (arg), &_opts); })
#else
#define SPDK_PY_IO_VECTORED(fn, desc, ch, io, cb, arg) \
	((io)->u.bdev.md_buf == NULL ? \
	 spdk_bdev_##fn##_blocks((desc), (ch), (io)->u.bdev.iovs, (io)->u.bdev.iovcnt, \
				 (io)->u.bdev.offset_blocks, (io)->u.bdev.num_blocks, (cb), (arg)) : \
	 spdk_bdev_##fn##_blocks_with_md((desc), (ch), (io)->u.bdev.iovs, (io)->u.bdev.iovcnt, \
					 (io)->u.bdev.md_buf, (io)->u.bdev.offset_blocks, \
					 (io)->u.bdev.num_blocks, (cb), (arg)))
#endif

/* READ and WRITE of the I/O's own buffers, on to the base. */
#define SPDK_PY_READV(desc, ch, io, cb, arg) SPDK_PY_IO_VECTORED(readv, desc, ch, io, cb, arg)
#define SPDK_PY_WRITEV(desc, ch, io, cb, arg) SPDK_PY_IO_VECTORED(writev, desc, ch, io, cb, arg)

/* 24.05 added spdk_bdev_io_complete_base_io_status(): the upper I/O takes the
 * base's own status, an NVMe error's codes included. Before it, the status
 * alone (a hook's own status, or MISCOMPARE and ABORTED, are kept either way).
 * COMPARE is forwarded only with it: an NVMe base's Compare Failure is an NVMe
 * error, which would reach the host as a plain failure. Before 24.05 the bdev
 * layer compares instead, reading through the vbdev, and its miscompare is exact.
 */
#if SPDK_PY_SPDK_AT_LEAST(24, 5)
#define SPDK_PY_COMPLETE_AS_BASE(io, base_io, status) \
	spdk_bdev_io_complete_base_io_status((io), (base_io))
#define SPDK_PY_FORWARDS_COMPARE 1
#else
/* An NVMe passthrough command's completion (its status codes and cdw0) is
 * the host's answer: it is copied whatever the status.
 */
static inline void
spdk_py_complete_as_base(struct spdk_bdev_io *io, struct spdk_bdev_io *base_io, int status)
{
	uint32_t cdw0;
	int sct, sc;

	if (io->type == SPDK_BDEV_IO_TYPE_NVME_ADMIN || io->type == SPDK_BDEV_IO_TYPE_NVME_IO ||
	    io->type == SPDK_BDEV_IO_TYPE_NVME_IO_MD) {
		spdk_bdev_io_get_nvme_status(base_io, &cdw0, &sct, &sc);
		spdk_bdev_io_complete_nvme_status(io, cdw0, sct, sc);
		return;
	}
	spdk_bdev_io_complete(io, status);
}

#define SPDK_PY_COMPLETE_AS_BASE(io, base_io, status) spdk_py_complete_as_base((io), (base_io), (status))
#define SPDK_PY_FORWARDS_COMPARE 0
#endif

/* 24.01 added NVME_IOV_MD: an NVMe I/O command whose data is an iovec. */
#define SPDK_PY_HAVE_NVME_IOV_MD SPDK_PY_SPDK_AT_LEAST(24, 1)
#if SPDK_PY_HAVE_NVME_IOV_MD
#define SPDK_PY_NVME_IOV_MD_BIT (1u << SPDK_BDEV_IO_TYPE_NVME_IOV_MD)
#else
#define SPDK_PY_NVME_IOV_MD_BIT 0u
#endif

/* Properties a stacked bdev takes from its base beyond 20.07's: the DIF
 * protection format (24.09) and the NUMA node (24.09; SPDK's passthru copies
 * it from 26.01).
 */
#if SPDK_PY_SPDK_AT_LEAST(24, 9)
#define SPDK_PY_COPY_NEWER_PROPERTIES(dst, src) \
	do { \
		(dst)->dif_pi_format = (src)->dif_pi_format; \
		(dst)->numa = (src)->numa; \
	} while (0)
#else
#define SPDK_PY_COPY_NEWER_PROPERTIES(dst, src) do { } while (0)
#endif

/* What a vbdev forwarding NVMe passthrough takes from its NVMe base: the
 * controller attributes (24.05), the namespace ID (25.05) and command set
 * (26.05). SPDK's NVMe-oF target sends a namespace's Identify to a bdev
 * taking NVME_ADMIN with that namespace ID: without it, nsid 0, which the
 * device refuses, and the host sees no namespace.
 */
#if SPDK_PY_SPDK_AT_LEAST(26, 5)
#define SPDK_PY_COPY_NVME_PROPERTIES(dst, src) \
	do { (dst)->ctratt = (src)->ctratt; (dst)->nsid = (src)->nsid; (dst)->csi = (src)->csi; } \
	while (0)
#elif SPDK_PY_SPDK_AT_LEAST(25, 5)
#define SPDK_PY_COPY_NVME_PROPERTIES(dst, src) \
	do { (dst)->ctratt = (src)->ctratt; (dst)->nsid = (src)->nsid; } while (0)
#elif SPDK_PY_SPDK_AT_LEAST(24, 5)
#define SPDK_PY_COPY_NVME_PROPERTIES(dst, src) do { (dst)->ctratt = (src)->ctratt; } while (0)
#else
#define SPDK_PY_COPY_NVME_PROPERTIES(dst, src) do { } while (0)
#endif

#endif /* SPDK_PY_COMPAT_H */
