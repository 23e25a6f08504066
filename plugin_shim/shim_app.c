/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * Python programs on an SPDK application: the shim takes the place of
 * spdk_app_start (it is preloaded, so the application's call lands here) and
 * hands SPDK a start callback of its own, which runs the application's and
 * then Python's python_app_started, on the app thread, once the framework is
 * up and the --json config is loaded. The application is otherwise unchanged.
 *
 * It also hears the application begin to stop (SIGINT, SIGTERM: SPDK's own
 * handlers, chained to): Python then ends what its hooks keep (their tasks
 * cancelled, their Laters failed), for an application drains its I/Os
 * before the bdev layer's own shutdown (bdevperf its jobs', nvmf its
 * hosts').
 */

#include <dlfcn.h>
#include <signal.h>

#include "shim_internal.h"
#include "spdk/event.h"
#include "spdk/log.h"

typedef int (*shim_app_start_fn)(struct spdk_app_opts *opts, spdk_msg_fn start_fn, void *arg);

static spdk_msg_fn g_app_start_fn;
static void *g_app_start_arg;

/* How often the app thread looks whether a stop was asked (no Python then). */
#define SHIM_APP_WATCH_US	10000

static volatile sig_atomic_t g_stop_asked;
static struct sigaction g_spdk_sigint, g_spdk_sigterm;
static struct spdk_poller *g_stop_watch;

/* SPDK's handler, after a note that a stop was asked (async-signal-safe). */
static void
shim_app_signal(int signo, siginfo_t *info, void *ctx)
{
	const struct sigaction *spdk = signo == SIGINT ? &g_spdk_sigint : &g_spdk_sigterm;

	g_stop_asked = 1;
	if (spdk->sa_flags & SA_SIGINFO) {
		spdk->sa_sigaction(signo, info, ctx);
	} else if (spdk->sa_handler != SIG_DFL && spdk->sa_handler != SIG_IGN) {
		spdk->sa_handler(signo);
	}
}

static int
shim_app_watch(void *arg)
{
	if (!g_stop_asked) {
		return SPDK_POLLER_IDLE;
	}
	spdk_poller_unregister(&g_stop_watch);
	python_app_stopping();
	return SPDK_POLLER_BUSY;
}

/* After SPDK's own handlers are in place: ours before them. */
static void
shim_app_watch_stop(void)
{
	struct sigaction ours = { .sa_sigaction = shim_app_signal, .sa_flags = SA_SIGINFO };

	sigemptyset(&ours.sa_mask);
	if (sigaction(SIGINT, &ours, &g_spdk_sigint) != 0 ||
	    sigaction(SIGTERM, &ours, &g_spdk_sigterm) != 0) {
		SPDK_ERRLOG("spdk_py: cannot watch for the app's stop: its hooks' I/Os end at their "
			    "timeouts\n");
		return;
	}
	g_stop_watch = spdk_poller_register(shim_app_watch, NULL, SHIM_APP_WATCH_US);
}

/* The bdev layer is finishing (the module's fini, on the app thread): the
 * watch goes, or the app thread could not exit.
 */
void
spdk_py_app_fini(void)
{
	spdk_poller_unregister(&g_stop_watch);
}

static void
shim_app_started(void *arg)
{
	shim_app_watch_stop();
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
