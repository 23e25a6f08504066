/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The bdev module the shim registers. Every module callback trampolines into
 * Python; Python itself is started here, in module_init, on the app thread.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/string.h"

#ifndef SPDK_PY_DEFAULT_PATH
#define SPDK_PY_DEFAULT_PATH ""
#endif
#ifndef SPDK_PY_PYTHON_HOME
#define SPDK_PY_PYTHON_HOME ""
#endif

static int shim_module_init(void);
static void shim_module_fini_start(void);
static void shim_module_fini(void);
static void shim_examine_config(struct spdk_bdev *bdev);
static int shim_config_json(struct spdk_json_write_ctx *w);

struct spdk_bdev_module g_spdk_py_module = {
	.name = "spdk_py",
	.module_init = shim_module_init,
	.fini_start = shim_module_fini_start,
	.module_fini = shim_module_fini,
	.get_ctx_size = spdk_py_get_ctx_size,
	.examine_config = shim_examine_config,
	.config_json = shim_config_json,
};

SPDK_BDEV_MODULE_REGISTER(spdk_py, &g_spdk_py_module)

/* What the embedded interpreter (and the Python that lists a plugin's RPC
 * methods, shim_rpc.c) imports from: the user's PYTHONPATH first (where
 * their own modules are; the working directory is added at start), then
 * SPDK_PY_PATH (set by the launcher) or the path baked in at build time (the
 * venv's packages, a checkout). Freed by the caller.
 */
char *
spdk_py_import_path(void)
{
	const char *user = getenv("PYTHONPATH");
	const char *ours = getenv("SPDK_PY_PATH");

	if (ours == NULL || ours[0] == '\0') {
		ours = SPDK_PY_DEFAULT_PATH;
	}
	if (user == NULL || user[0] == '\0') {
		return strdup(ours);
	}
	return spdk_sprintf_alloc("%s:%s", user, ours);
}

/* The embedded interpreter ignores venvs: its import path must be set before
 * it starts. Its home is the Python the shim was built with: left to itself,
 * it looks for its standard library beside the first python3 on PATH, which
 * may be another Python's.
 */
static void
shim_set_python_path(void)
{
	char *path = spdk_py_import_path();

	setenv("PYTHONPATH", path ? path : SPDK_PY_DEFAULT_PATH, 1);
	free(path);
	if (SPDK_PY_PYTHON_HOME[0] != '\0') {
		setenv("PYTHONHOME", SPDK_PY_PYTHON_HOME, 1);
	}
	/* Nothing from the user's site dir or .pyc litter in the project tree. */
	setenv("PYTHONNOUSERSITE", "1", 1);
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
}

/* Python starts here, once, on the app thread; it is never finalized. */
static int
shim_module_init(void)
{
	int rc;

	shim_set_python_path();
	rc = python_start();
	if (rc != 0) {
		SPDK_ERRLOG("spdk_py: Python failed to start (%d); see the messages above\n", rc);
	}
	return rc;
}

/* The app shuts down, before the bdev layer unregisters every bdev: what
 * Python keeps fails now (each bdev's own I/Os, on their threads).
 */
static void
shim_module_fini_start(void)
{
	python_fini_start();
}

static void
shim_module_fini(void)
{
	spdk_py_app_fini();
	python_module_fini();
}

/* examine_done is owed to the bdev layer whatever Python did, or init hangs. */
static void
shim_examine_config(struct spdk_bdev *bdev)
{
	python_examine(bdev);
	spdk_bdev_module_examine_done(&g_spdk_py_module);
}

static int
shim_config_json(struct spdk_json_write_ctx *w)
{
	python_config_json(w);
	return 0;
}

int
spdk_py_get_ctx_size(void)
{
	/* A vbdev's I/O or a disk's: one module, one context size. */
	return spdk_max(sizeof(struct spdk_py_io), sizeof(struct spdk_py_disk_io));
}

/* Python's log lines go to SPDK's log, like every other module's. */
void
spdk_py_log(int level, const char *msg)
{
	spdk_log((enum spdk_log_level)level, "python", 0, "spdk_py", "%s\n", msg);
}
