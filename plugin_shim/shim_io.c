/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The per-I/O path. C owns every I/O's lifetime: Python decides what to do
 * with an I/O by calling these helpers, and whatever Python does (return an
 * error, raise, forget), the I/O completes exactly once.
 */

#include "spdk_py_shim.h"
#include "spdk_compat.h"
#include "spdk/log.h"
#include "spdk/util.h"

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

static inline struct spdk_io_channel *
shim_io_base_ch(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_channel *py_ch = spdk_io_channel_get_ctx(shim_io_ctx(bdev_io)->ch);

	return py_ch->base_ch;
}

/* Complete the original I/O once; a Python completion hook may change the status. */
static void
shim_complete_orig(struct spdk_bdev_io *orig_io, bool success)
{
	struct spdk_py_vbdev *node = shim_io_node(orig_io);
	struct spdk_py_io *io_ctx = shim_io_ctx(orig_io);
	int status = success ? SPDK_BDEV_IO_STATUS_SUCCESS : SPDK_BDEV_IO_STATUS_FAILED;

	if (io_ctx->test != 0x5a) {
		SPDK_ERRLOG("Error, original IO device_ctx is wrong! 0x%x\n", io_ctx->test);
	}
	if (node->hooks & SPDK_PY_HOOK_COMPLETE) {
		status = spdk_py_complete(node->py, orig_io, orig_io->type, status);
	}
	io_ctx->state = SPDK_PY_IO_DONE;
	spdk_bdev_io_complete(orig_io, status);
}

static void
shim_base_io_done(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	shim_complete_orig(cb_arg, success);
	spdk_bdev_free_io(bdev_io);
}

static void
shim_base_zcopy_done(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct spdk_bdev_io *orig_io = cb_arg;

	/* A failed zcopy may have no buffer; the reference does not look. */
	if (success) {
		spdk_bdev_io_set_buf(orig_io, bdev_io->u.bdev.iovs[0].iov_base,
				     bdev_io->u.bdev.iovs[0].iov_len);
	}
	shim_complete_orig(orig_io, success);
	spdk_bdev_free_io(bdev_io);
}

/* A forward that the base accepted owns the I/O from now on. */
static inline int
shim_forwarded(struct spdk_bdev_io *bdev_io, int rc)
{
	if (rc == 0) {
		shim_io_ctx(bdev_io)->state = SPDK_PY_IO_OWNED;
	}
	return rc;
}

/* Scalars Python needs, read in C so Python never walks the bdev_io struct. */
uint64_t
spdk_py_io_offset_blocks(struct spdk_bdev_io *bdev_io)
{
	return bdev_io->u.bdev.offset_blocks;
}

uint64_t
spdk_py_io_num_blocks(struct spdk_bdev_io *bdev_io)
{
	return bdev_io->u.bdev.num_blocks;
}

bool
spdk_py_io_has_md(struct spdk_bdev_io *bdev_io)
{
	return bdev_io->u.bdev.md_buf != NULL;
}

int
spdk_py_io_iovcnt(struct spdk_bdev_io *bdev_io)
{
	return bdev_io->u.bdev.iovs ? bdev_io->u.bdev.iovcnt : 0;
}

void *
spdk_py_io_iov_base(struct spdk_bdev_io *bdev_io, int i)
{
	return bdev_io->u.bdev.iovs[i].iov_base;
}

size_t
spdk_py_io_iov_len(struct spdk_bdev_io *bdev_io, int i)
{
	return bdev_io->u.bdev.iovs[i].iov_len;
}

int
spdk_py_base_readv(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_readv_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.iovs, bdev_io->u.bdev.iovcnt,
			      bdev_io->u.bdev.offset_blocks, bdev_io->u.bdev.num_blocks,
			      shim_base_io_done, bdev_io));
}

int
spdk_py_base_readv_with_md(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_readv_blocks_with_md(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.iovs, bdev_io->u.bdev.iovcnt,
			      bdev_io->u.bdev.md_buf, bdev_io->u.bdev.offset_blocks,
			      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io));
}

int
spdk_py_base_writev(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_writev_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.iovs, bdev_io->u.bdev.iovcnt,
			      bdev_io->u.bdev.offset_blocks, bdev_io->u.bdev.num_blocks,
			      shim_base_io_done, bdev_io));
}

int
spdk_py_base_writev_with_md(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_writev_blocks_with_md(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.iovs, bdev_io->u.bdev.iovcnt,
			      bdev_io->u.bdev.md_buf, bdev_io->u.bdev.offset_blocks,
			      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io));
}

int
spdk_py_base_write_zeroes(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_write_zeroes_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.offset_blocks,
			      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io));
}

int
spdk_py_base_unmap(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_unmap_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.offset_blocks,
			      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io));
}

int
spdk_py_base_flush(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_flush_blocks(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io->u.bdev.offset_blocks,
			      bdev_io->u.bdev.num_blocks, shim_base_io_done, bdev_io));
}

int
spdk_py_base_reset(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_reset(node->base_desc, shim_io_base_ch(bdev_io),
			      shim_base_io_done, bdev_io));
}

int
spdk_py_base_zcopy(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, SPDK_PY_ZCOPY_START(node->base_desc,
			      shim_io_base_ch(bdev_io), bdev_io, shim_base_zcopy_done, bdev_io));
}

int
spdk_py_base_abort(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_vbdev *node = shim_io_node(bdev_io);

	return shim_forwarded(bdev_io, spdk_bdev_abort(node->base_desc, shim_io_base_ch(bdev_io),
			      bdev_io->u.abort.bio_to_abort, shim_base_io_done, bdev_io));
}

/* The buffer callback of a READ: Python continues the I/O; if it does not take
 * it (error or exception), C fails it.
 */
static void
shim_read_get_buf_cb(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io, bool success)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);

	io_ctx->state = SPDK_PY_IO_NEW;
	spdk_py_read_buf_ready(shim_io_node(bdev_io)->py, ch, bdev_io, success);
	if (io_ctx->state == SPDK_PY_IO_NEW) {
		spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
	}
}

void
spdk_py_io_get_buf(struct spdk_bdev_io *bdev_io)
{
	shim_io_ctx(bdev_io)->state = SPDK_PY_IO_OWNED;
	spdk_bdev_io_get_buf(bdev_io, shim_read_get_buf_cb,
			     bdev_io->u.bdev.num_blocks * bdev_io->bdev->blocklen);
}

static void
shim_resubmit_io(void *arg)
{
	struct spdk_bdev_io *bdev_io = arg;

	spdk_py_submit_request(shim_io_ctx(bdev_io)->ch, bdev_io);
}

/* Park an I/O that met -ENOMEM until the base has a bdev_io to spare. */
int
spdk_py_io_queue(struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	int rc;

	io_ctx->bdev_io_wait.bdev = bdev_io->bdev;
	io_ctx->bdev_io_wait.cb_fn = shim_resubmit_io;
	io_ctx->bdev_io_wait.cb_arg = bdev_io;

	/* Queue the IO using the channel of the base device. */
	rc = spdk_bdev_queue_io_wait(bdev_io->bdev, shim_io_base_ch(bdev_io), &io_ctx->bdev_io_wait);
	if (rc == 0) {
		io_ctx->state = SPDK_PY_IO_OWNED;
	}
	return rc;
}

void
spdk_py_io_complete(struct spdk_bdev_io *bdev_io, int status)
{
	shim_io_ctx(bdev_io)->state = SPDK_PY_IO_DONE;
	spdk_bdev_io_complete(bdev_io, status);
}

/* fn_table submit_request: Python sees the I/O and must forward, queue or
 * complete it. An I/O it leaves untaken (an error status, an exception, or a
 * plain forgotten I/O) is failed here, so nothing is lost.
 */
void
spdk_py_submit_request(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_io *io_ctx = shim_io_ctx(bdev_io);
	int rc;

	io_ctx->test = 0x5a;
	io_ctx->state = SPDK_PY_IO_NEW;
	io_ctx->ch = ch;

	rc = spdk_py_submit(shim_io_node(bdev_io)->py, ch, bdev_io, bdev_io->type);
	if (io_ctx->state == SPDK_PY_IO_NEW) {
		if (rc == 0) {
			SPDK_ERRLOG("%s: Python left I/O type %d untaken; failing it\n",
				    bdev_io->bdev->name, bdev_io->type);
		}
		spdk_py_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_FAILED);
	}
}
