/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * One NVMe command sent to any bdev that takes NVMe passthrough (NVME_ADMIN,
 * NVME_IO), on Python's behalf: what SPDK's bdev_nvme_send_cmd does for a
 * controller, for a bdev (a namespace, or a vbdev stacked on one). The bdev
 * is opened, sent the command and closed on the calling thread.
 */

#include "shim_internal.h"
#include "spdk/env.h"
#include "spdk/log.h"
#include "spdk/nvme_spec.h"

SPDK_STATIC_ASSERT(sizeof(struct spdk_nvme_cmd) == SPDK_PY_NVME_CMD_BYTES, "NVMe command size");

struct spdk_py_nvme_cmd *
spdk_py_nvme_cmd_alloc(size_t nbytes)
{
	struct spdk_py_nvme_cmd *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	c->nbytes = nbytes;
	if (nbytes > 0) {
		c->buf = spdk_dma_zmalloc(nbytes, 0x1000, NULL);
		if (c->buf == NULL) {
			free(c);
			return NULL;
		}
	}
	return c;
}

void
spdk_py_nvme_cmd_free(struct spdk_py_nvme_cmd *c)
{
	spdk_dma_free(c->buf);
	free(c);
}

/* The descriptor and channel a bdev's commands are sent on, kept open while
 * commands follow each other (SHIM_NVME_KEEP_US after the last one): a
 * channel per command would create and delete an NVMe I/O queue pair per
 * command, and on SPDK 20.07 with QEMU's NVMe the command after a deleted
 * queue pair's never completed. A REMOVE event closes it at once (after the
 * command in flight). Each command still opens the bdev for writing first,
 * so a bdev claimed meanwhile refuses it as it would without the cache.
 */
#define SHIM_NVME_KEEP_US	(10 * 1000 * 1000)

struct shim_nvme_target {
	char				*name;
	struct spdk_bdev_desc		*desc;
	struct spdk_io_channel		*ch;
	struct spdk_thread		*thread;
	struct spdk_poller		*idle;
	int				in_flight;
	bool				removed;
	TAILQ_ENTRY(shim_nvme_target)	link;
};

static TAILQ_HEAD(, shim_nvme_target) g_nvme_targets = TAILQ_HEAD_INITIALIZER(g_nvme_targets);

static void
shim_nvme_target_close(struct shim_nvme_target *target)
{
	TAILQ_REMOVE(&g_nvme_targets, target, link);
	spdk_poller_unregister(&target->idle);
	spdk_put_io_channel(target->ch);
	spdk_bdev_close(target->desc);
	free(target->name);
	free(target);
}

static int
shim_nvme_target_idle(void *arg)
{
	shim_nvme_target_close(arg);
	return SPDK_POLLER_BUSY;
}

static void
shim_nvme_target_event(enum spdk_bdev_event_type type, struct spdk_bdev *bdev, void *ctx)
{
	struct shim_nvme_target *target = ctx;

	if (type != SPDK_BDEV_EVENT_REMOVE) {
		return;
	}
	target->removed = true;
	if (target->in_flight == 0) {
		shim_nvme_target_close(target);
	}
}

/* The open target for bdev_name on this thread, opened if need be. */
static int
shim_nvme_target_get(const char *bdev_name, struct shim_nvme_target **out)
{
	struct shim_nvme_target *target;
	int rc;

	TAILQ_FOREACH(target, &g_nvme_targets, link) {
		if (!target->removed && target->thread == spdk_get_thread() &&
		    strcmp(target->name, bdev_name) == 0) {
			spdk_poller_unregister(&target->idle);
			*out = target;
			return 0;
		}
	}
	target = calloc(1, sizeof(*target));
	if (target == NULL || (target->name = strdup(bdev_name)) == NULL) {
		free(target);
		return -ENOMEM;
	}
	rc = spdk_bdev_open_ext(bdev_name, true, shim_nvme_target_event, target, &target->desc);
	if (rc == 0) {
		target->ch = spdk_bdev_get_io_channel(target->desc);
		if (target->ch == NULL) {
			spdk_bdev_close(target->desc);
			rc = -ENOMEM;
		}
	}
	if (rc != 0) {
		free(target->name);
		free(target);
		return rc;
	}
	target->thread = spdk_get_thread();
	TAILQ_INSERT_TAIL(&g_nvme_targets, target, link);
	*out = target;
	return 0;
}

static void
shim_nvme_target_put(struct shim_nvme_target *target)
{
	if (--target->in_flight > 0) {
		return;
	}
	if (target->removed) {
		shim_nvme_target_close(target);
		return;
	}
	target->idle = spdk_poller_register(shim_nvme_target_idle, target, SHIM_NVME_KEEP_US);
	if (target->idle == NULL) {
		shim_nvme_target_close(target);
	}
}

static void
shim_nvme_cmd_finish(struct spdk_py_nvme_cmd *c, int rc)
{
	shim_nvme_target_put(c->target);
	c->target = NULL;
	python_done(c->cb_arg, rc);
}

static void
shim_nvme_cmd_done(struct spdk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct spdk_py_nvme_cmd *c = cb_arg;

	spdk_bdev_io_get_nvme_status(bdev_io, &c->cdw0, &c->sct, &c->sc);
	c->success = success;
	spdk_bdev_free_io(bdev_io);
	shim_nvme_cmd_finish(c, 0);
}

static int
shim_nvme_cmd_submit(struct spdk_py_nvme_cmd *c)
{
	struct spdk_nvme_cmd cmd;

	memcpy(&cmd, c->cmd, sizeof(cmd));
	if (c->admin) {
		return spdk_bdev_nvme_admin_passthru(c->target->desc, c->target->ch, &cmd, c->buf,
						     c->nbytes, shim_nvme_cmd_done, c);
	}
	return spdk_bdev_nvme_io_passthru(c->target->desc, c->target->ch, &cmd, c->buf, c->nbytes,
					  shim_nvme_cmd_done, c);
}

static void shim_nvme_cmd_retry(void *arg);

/* Submit; on -ENOMEM wait for a spare bdev_io rather than fail. */
static int
shim_nvme_cmd_try(struct spdk_py_nvme_cmd *c)
{
	int rc = shim_nvme_cmd_submit(c);

	if (rc == -ENOMEM) {
		c->wait.bdev = spdk_bdev_desc_get_bdev(c->target->desc);
		c->wait.cb_fn = shim_nvme_cmd_retry;
		c->wait.cb_arg = c;
		rc = spdk_bdev_queue_io_wait(c->wait.bdev, c->target->ch, &c->wait);
	}
	return rc;
}

static void
shim_nvme_cmd_retry(void *arg)
{
	struct spdk_py_nvme_cmd *c = arg;
	int rc = shim_nvme_cmd_try(c);

	if (rc != 0) {
		shim_nvme_cmd_finish(c, rc);
	}
}

static void
shim_nvme_cmd_no_event(enum spdk_bdev_event_type type, struct spdk_bdev *bdev, void *ctx)
{
}

/* May this thread write to the bdev now (not claimed by a module)? */
static int
shim_nvme_cmd_may_write(const char *bdev_name)
{
	struct spdk_bdev_desc *desc;
	int rc = spdk_bdev_open_ext(bdev_name, true, shim_nvme_cmd_no_event, NULL, &desc);

	if (rc == 0) {
		spdk_bdev_close(desc);
	}
	return rc;
}

/* Send c to the bdev named bdev_name; python_done(cb_arg, 0) once it
 * completed (its status in c), or a negative errno now: -ENODEV (no such
 * bdev), -ENOTSUP (it takes no such command), or what opening it said.
 */
int
spdk_py_nvme_cmd_send(struct spdk_py_nvme_cmd *c, const char *bdev_name, void *cb_arg)
{
	enum spdk_bdev_io_type type = c->admin ? SPDK_BDEV_IO_TYPE_NVME_ADMIN :
				      SPDK_BDEV_IO_TYPE_NVME_IO;
	struct spdk_bdev *bdev = spdk_bdev_get_by_name(bdev_name);
	int rc;

	if (bdev == NULL) {
		return -ENODEV;
	}
	if (!spdk_bdev_io_type_supported(bdev, type)) {
		return -ENOTSUP;
	}
	/* Passthrough needs a descriptor open for writing. */
	rc = shim_nvme_cmd_may_write(bdev_name);
	if (rc == 0) {
		rc = shim_nvme_target_get(bdev_name, &c->target);
	}
	if (rc != 0) {
		return rc;
	}
	c->target->in_flight++;
	c->cb_arg = cb_arg;
	rc = shim_nvme_cmd_try(c);
	if (rc != 0) {
		shim_nvme_target_put(c->target);
		c->target = NULL;
	}
	return rc;
}
