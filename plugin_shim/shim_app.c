/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Python programs on an SPDK application: the shim takes the place of
 * spdk_app_start (it is preloaded, so the application's call lands here) and
 * hands SPDK a start callback of its own, which runs the application's and
 * then Python's python_app_started, on the app thread, once the framework is
 * up and the --json config is loaded. The application is otherwise unchanged.
 */

#include <dlfcn.h>

#include "shim_internal.h"
#include "spdk/event.h"
#include "spdk/log.h"

typedef int (*shim_app_start_fn)(struct spdk_app_opts *opts, spdk_msg_fn start_fn, void *arg);

static spdk_msg_fn g_app_start_fn;
static void *g_app_start_arg;

static void
shim_app_started(void *arg)
{
	g_app_start_fn(g_app_start_arg);
	python_app_started();
}

__attribute__((visibility("default"))) int
spdk_app_start(struct spdk_app_opts *opts, spdk_msg_fn start_fn, void *arg)
{
	shim_app_start_fn real = (shim_app_start_fn)dlsym(RTLD_NEXT, "spdk_app_start");

	if (real == NULL) {
		fprintf(stderr, "spdk_py: no spdk_app_start after the shim: %s\n", dlerror());
		return -ENOSYS;
	}
	g_app_start_fn = start_fn;
	g_app_start_arg = arg;
	return real(opts, shim_app_started, NULL);
}
