/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Vbdevs over several bases, their per-I/O work in C: a Python disk's batch
 * routes an I/O to a set of its bases (a mask of slots) and C sends the
 * children on each base's channel of this thread, as SPDK's raid1 does: a
 * read to one of them (round robin; one that fails is retried on the next),
 * anything else to all. The parent completes once its children are back,
 * successfully if one of them succeeded; it keeps no timeout of its own (its
 * children come back: the bases are bdevs). A failed child fails its base
 * for every thread at once (no more I/O goes there) and reaches Python as an
 * event from the channel's poller, never from inside the completion.
 *
 * Python names this thread's channel of each base (python_disk_bind_bases)
 * whenever the bases changed (bases_gen): it bumps bases_gen before it closes
 * a base's channels, so a table whose generation is current holds no channel
 * that was closed.
 */

#include "shim_internal.h"
#include "spdk/log.h"

#define SHIM_FAN_TAG(slot, gen)	((uint64_t)(slot) | ((uint64_t)(gen) << 8))

/* The bases changed (one added, failed or closing): each channel asks Python
 * for its table again before it routes.
 */
void
spdk_py_disk_bases_changed(struct spdk_py_disk *disk)
{
	__atomic_add_fetch(&disk->bases_gen, 1, __ATOMIC_SEQ_CST);
}

/* A new base takes slot: failures of the slot's previous base are ignored. */
void
spdk_py_disk_base_slot(struct spdk_py_disk *disk, int slot)
{
	__atomic_add_fetch(&disk->slot_gen[slot], 1, __ATOMIC_SEQ_CST);
	__atomic_and_fetch(&disk->failed_bases, ~(1u << slot), __ATOMIC_SEQ_CST);
	__atomic_store_n(&disk->base_ios[slot], 0, __ATOMIC_RELAXED);
	spdk_py_disk_bases_changed(disk);
}

/* Python fails a base (removed, or failed elsewhere): no I/O goes there. */
void
spdk_py_disk_fail_base(struct spdk_py_disk *disk, int slot)
{
	__atomic_or_fetch(&disk->failed_bases, 1u << slot, __ATOMIC_SEQ_CST);
	spdk_py_disk_bases_changed(disk);
}

/* Children sent to a slot's base, for Python's figures. */
uint64_t
spdk_py_disk_base_ios(struct spdk_py_disk *disk, int slot)
{
	return __atomic_load_n(&disk->base_ios[slot], __ATOMIC_RELAXED);
}

/* Routed writes (write, write_zeroes, unmap) in flight on every thread. */
int64_t
spdk_py_disk_forwarding_writes(struct spdk_py_disk *disk)
{
	return __atomic_load_n(&disk->forwarding_writes, __ATOMIC_SEQ_CST);
}

/* On the channel's thread, Python's executor held: the table, if stale. */
void
spdk_py_disk_channel_bind(struct spdk_py_disk_channel *ch)
{
	uint32_t gen = __atomic_load_n(&ch->disk->bases_gen, __ATOMIC_SEQ_CST);

	if (gen == ch->bases_gen) {
		return;
	}
	memset(ch->base_chs, 0, sizeof(ch->base_chs));
	python_disk_bind_bases(ch->disk->py, ch->base_chs);
	ch->bases_gen = gen;
}

/* Whether this channel's table names the bases as they are now. */
static bool
shim_fan_table_current(struct spdk_py_disk_channel *ch)
{
	return ch->bases_gen == __atomic_load_n(&ch->disk->bases_gen, __ATOMIC_SEQ_CST);
}

/* The parent is done (through the disk's channel ops). */
static void
shim_fan_finish(struct spdk_bdev_io *bdev_io, bool success)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);

	if (io->fan_write) {
		__atomic_sub_fetch(&io->ch->disk->forwarding_writes, 1, __ATOMIC_SEQ_CST);
	}
	io->ch->io_ops->complete(bdev_io, success ? SPDK_BDEV_IO_STATUS_SUCCESS :
				 SPDK_BDEV_IO_STATUS_FAILED);
}

/* A child failed: its base takes no more I/O, and Python hears of it. */
static void
shim_fan_base_failed(struct spdk_py_disk_channel *ch, uint64_t tag, int status)
{
	struct spdk_py_disk *disk = ch->disk;
	int slot = tag & 0xff;

	if (__atomic_load_n(&disk->slot_gen[slot], __ATOMIC_SEQ_CST) != (uint32_t)(tag >> 8)) {
		return;	/* the slot's base was replaced since */
	}
	__atomic_or_fetch(&disk->failed_bases, 1u << slot, __ATOMIC_SEQ_CST);
	ch->failed_report |= 1u << slot;
	ch->failed_status = status;
	ch->io_ops->wake(ch);
}

static void shim_fan_child_done(void *arg, uint64_t tag, int status);

/* One child, to slot's base on this thread's channel of it; one refused
 * counts as a failed child.
 */
static void
shim_fan_send(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io, int slot)
{
	struct spdk_py_disk *disk = ch->disk;
	struct spdk_py_io_channel *base_ch = ch->base_chs[slot];
	uint64_t tag = SHIM_FAN_TAG(slot, __atomic_load_n(&disk->slot_gen[slot], __ATOMIC_RELAXED));
	bool reset = bdev_io->type == SPDK_BDEV_IO_TYPE_RESET;
	int rc = -ENODEV;

	__atomic_add_fetch(&disk->base_ios[slot], 1, __ATOMIC_RELAXED);
	if (base_ch != NULL) {
		rc = spdk_py_io_channel_submit_cb(base_ch, bdev_io->type,
						  reset ? NULL : bdev_io->u.bdev.iovs,
						  reset ? 0 : bdev_io->u.bdev.iovcnt,
						  reset ? 0 : bdev_io->u.bdev.offset_blocks,
						  reset ? 0 : bdev_io->u.bdev.num_blocks,
						  shim_fan_child_done, bdev_io, tag);
	}
	if (rc != 0) {
		shim_fan_child_done(bdev_io, tag, rc);	/* refused: a failed child */
	}
}

/* The n-th (round robin) of the slots in mask. */
static int
shim_fan_pick(struct spdk_py_disk_channel *ch, uint32_t mask)
{
	int skip = ch->next_read++ % __builtin_popcount(mask);

	while (skip-- > 0) {
		mask &= mask - 1;
	}
	return __builtin_ctz(mask);
}

/* A read goes to one base not failed (nor tried already for it). One whose
 * retry meets a table the bases have changed since (a base being removed
 * fails the reads it had) goes back through the disk's batch, to be routed
 * again with the table made afresh.
 */
static void
shim_fan_read(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	uint32_t left = io->fan_mask & ~io->fan_tried &
			~__atomic_load_n(&ch->disk->failed_bases, __ATOMIC_SEQ_CST);

	if (left == 0) {
		shim_fan_finish(bdev_io, false);
	} else if (!shim_fan_table_current(ch)) {
		ch->io_ops->requeue(ch, bdev_io);
	} else {
		shim_fan_send(ch, bdev_io, shim_fan_pick(ch, left));
	}
}

/* A child is back: a read is done or tries the next base; anything else
 * waits for its last child.
 */
static void
shim_fan_child_done(void *arg, uint64_t tag, int status)
{
	struct spdk_bdev_io *bdev_io = arg;
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	struct spdk_py_disk_channel *ch = io->ch;

	if (status != 0) {
		shim_fan_base_failed(ch, tag, status);
	} else {
		io->fan_ok = true;
	}
	if (bdev_io->type == SPDK_BDEV_IO_TYPE_READ) {
		if (status == 0) {
			shim_fan_finish(bdev_io, true);
		} else {
			io->fan_tried |= 1u << (tag & 0xff);
			shim_fan_read(ch, bdev_io);
		}
		return;
	}
	if (--io->fan_left == 0) {
		shim_fan_finish(bdev_io, io->fan_ok);
	}
}

/* The types C routes; the others are Python's hooks'. */
static bool
shim_fan_routable(int type)
{
	return type == SPDK_BDEV_IO_TYPE_READ || type == SPDK_BDEV_IO_TYPE_WRITE ||
	       type == SPDK_BDEV_IO_TYPE_WRITE_ZEROES || type == SPDK_BDEV_IO_TYPE_UNMAP ||
	       type == SPDK_BDEV_IO_TYPE_FLUSH || type == SPDK_BDEV_IO_TYPE_RESET;
}

/* After the batch, on the I/O's thread: its children go on the I/O's own
 * buffers (a scattered I/O's gathered copy is not needed).
 */
void
spdk_py_disk_forward(struct spdk_py_disk_channel *ch, struct spdk_bdev_io *bdev_io,
		     uint32_t mask)
{
	struct spdk_py_disk_io *io = shim_disk_io(bdev_io);
	int type = bdev_io->type;
	uint32_t targets;

	free(io->bounce);
	io->bounce = NULL;
	io->fan_ok = false;
	io->fan_tried = 0;
	io->fan_mask = mask & ~__atomic_load_n(&ch->disk->failed_bases, __ATOMIC_SEQ_CST);
	io->fan_write = type == SPDK_BDEV_IO_TYPE_WRITE || type == SPDK_BDEV_IO_TYPE_WRITE_ZEROES ||
			type == SPDK_BDEV_IO_TYPE_UNMAP;
	if (io->fan_write) {
		__atomic_add_fetch(&ch->disk->forwarding_writes, 1, __ATOMIC_SEQ_CST);
	}
	if (!shim_fan_routable(type) || io->fan_mask == 0) {
		if (!shim_fan_routable(type)) {
			SPDK_ERRLOG("%s: an I/O of type %d cannot be routed to bases; failing it\n",
				    ch->disk->bdev.name, type);
		}
		shim_fan_finish(bdev_io, false);
		return;
	}
	if (type == SPDK_BDEV_IO_TYPE_READ) {
		shim_fan_read(ch, bdev_io);
		return;
	}
	/* The sender holds one count, so no child completes the parent before
	 * all are sent (a base may complete inside the submission).
	 */
	io->fan_left = 1;
	for (targets = io->fan_mask; targets != 0; targets &= targets - 1) {
		io->fan_left++;
		shim_fan_send(ch, bdev_io, __builtin_ctz(targets));
	}
	if (--io->fan_left == 0) {
		shim_fan_finish(bdev_io, io->fan_ok);
	}
}

/* From the channel's poller, Python's executor held: the bases that failed. */
void
spdk_py_disk_report_failures(struct spdk_py_disk_channel *ch)
{
	uint32_t failed = ch->failed_report;

	if (failed != 0) {
		ch->failed_report = 0;
		python_disk_bases_failed(ch->disk->py, failed, ch->failed_status);
	}
}
