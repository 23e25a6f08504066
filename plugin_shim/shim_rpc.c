/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * JSON-RPC methods defined in Python. SPDK hands a handler no method name, so
 * the shim keeps a table of small handlers, one per slot; Python registers a
 * method into a free slot and receives its params as JSON text.
 */

#include "shim_internal.h"
#include "spdk/log.h"
#include "spdk/rpc.h"
#include "spdk/string.h"
#include "spdk/util.h"
#include "spdk_py_rpc_methods.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

#ifndef SPDK_PY_PYTHON_EXE
#define SPDK_PY_PYTHON_EXE "python3"
#endif

#define SHIM_RPC_SLOTS 64

static int g_rpc_slots_used;
static char *g_rpc_slot_names[SHIM_RPC_SLOTS];

/* A growing buffer that spdk_json_write_* writes into. */
struct shim_json_buf {
	char	*data;
	size_t	len;
	size_t	cap;
};

static int
shim_json_buf_write(void *ctx, const void *data, size_t size)
{
	struct shim_json_buf *buf = ctx;
	char *grown;

	if (buf->len + size + 1 > buf->cap) {
		size_t cap = spdk_max(buf->cap * 2, buf->len + size + 1);

		grown = realloc(buf->data, spdk_max(cap, 256));
		if (grown == NULL) {
			return -ENOMEM;
		}
		buf->data = grown;
		buf->cap = spdk_max(cap, 256);
	}
	memcpy(buf->data + buf->len, data, size);
	buf->len += size;
	buf->data[buf->len] = '\0';
	return 0;
}

static void
shim_rpc_dispatch(int slot, struct spdk_jsonrpc_request *request,
		  const struct spdk_json_val *params)
{
	struct shim_json_buf buf = {};
	struct spdk_json_write_ctx *w;

	if (params != NULL) {
		w = spdk_json_write_begin(shim_json_buf_write, &buf, SPDK_JSON_WRITE_FLAG_FORMATTED);
		if (w == NULL || spdk_json_write_val(w, params) != 0 || spdk_json_write_end(w) != 0) {
			spdk_jsonrpc_send_error_response(request, SPDK_JSONRPC_ERROR_INTERNAL_ERROR,
							 "spdk_py: could not re-encode params");
			free(buf.data);
			return;
		}
	}
	/* Python answers the request, now or later; if it raised, it did not. */
	if (python_rpc_call(g_rpc_slot_names[slot], request, buf.data, buf.len) != 0) {
		spdk_jsonrpc_send_error_response(request, SPDK_JSONRPC_ERROR_INTERNAL_ERROR,
						 "spdk_py: the Python handler failed; see the target's log");
	}
	free(buf.data);
}

#define SHIM_RPC_SLOT(row, col) \
	static void shim_rpc_slot_##row##_##col(struct spdk_jsonrpc_request *request, \
						const struct spdk_json_val *params) \
	{ shim_rpc_dispatch((row) * 8 + (col), request, params); }
#define SHIM_RPC_SLOT_ROW(row) \
	SHIM_RPC_SLOT(row, 0) SHIM_RPC_SLOT(row, 1) SHIM_RPC_SLOT(row, 2) SHIM_RPC_SLOT(row, 3) \
	SHIM_RPC_SLOT(row, 4) SHIM_RPC_SLOT(row, 5) SHIM_RPC_SLOT(row, 6) SHIM_RPC_SLOT(row, 7)

SHIM_RPC_SLOT_ROW(0) SHIM_RPC_SLOT_ROW(1) SHIM_RPC_SLOT_ROW(2) SHIM_RPC_SLOT_ROW(3)
SHIM_RPC_SLOT_ROW(4) SHIM_RPC_SLOT_ROW(5) SHIM_RPC_SLOT_ROW(6) SHIM_RPC_SLOT_ROW(7)

#define SHIM_RPC_HANDLER_ROW(row) \
	shim_rpc_slot_##row##_0, shim_rpc_slot_##row##_1, shim_rpc_slot_##row##_2, \
	shim_rpc_slot_##row##_3, shim_rpc_slot_##row##_4, shim_rpc_slot_##row##_5, \
	shim_rpc_slot_##row##_6, shim_rpc_slot_##row##_7

static const spdk_rpc_method_handler g_rpc_slot_handlers[SHIM_RPC_SLOTS] = {
	SHIM_RPC_HANDLER_ROW(0), SHIM_RPC_HANDLER_ROW(1), SHIM_RPC_HANDLER_ROW(2),
	SHIM_RPC_HANDLER_ROW(3), SHIM_RPC_HANDLER_ROW(4), SHIM_RPC_HANDLER_ROW(5),
	SHIM_RPC_HANDLER_ROW(6), SHIM_RPC_HANDLER_ROW(7),
};

/* The slot method is routed to, or -ENOENT. */
static int
shim_rpc_slot(const char *method)
{
	int slot;

	for (slot = 0; slot < g_rpc_slots_used; slot++) {
		if (strcmp(g_rpc_slot_names[slot], method) == 0) {
			return slot;
		}
	}
	return -ENOENT;
}

/* Route method to Python; returns its slot, or a negative errno. */
int
spdk_py_rpc_register(const char *method, uint32_t state_mask)
{
	int slot = shim_rpc_slot(method);

	if (slot >= 0) {
		return slot;
	}
	if (g_rpc_slots_used == SHIM_RPC_SLOTS) {
		return -ENOSPC;
	}
	g_rpc_slot_names[g_rpc_slots_used] = strdup(method);
	if (g_rpc_slot_names[g_rpc_slots_used] == NULL) {
		return -ENOMEM;
	}
	slot = g_rpc_slots_used++;
	spdk_rpc_register_method(method, g_rpc_slot_handlers[slot], state_mask);
	return slot;
}

/* SPDK_PY_PLUGINS' methods, named by the Python the shim was built with
 * (python -m spdk_py.tools.rpc_methods) for an app started by hand, where
 * no launcher passed SPDK_PY_RPC_METHODS: "name:state_mask,...", or NULL.
 * The child is a plain Python: without the shim in its LD_PRELOAD.
 */
static char *
shim_rpc_methods_from_python(void)
{
	char *argv[] = { SPDK_PY_PYTHON_EXE, "-m", "spdk_py.tools.rpc_methods", NULL };
	char *path = spdk_py_import_path(), *out = NULL, *grown, *pythonpath, **envp;
	size_t len = 0, count = 0, i, j = 0;
	ssize_t n;
	int pipefd[2], status;
	pid_t pid;
	posix_spawn_file_actions_t actions;

	while (environ[count] != NULL) {
		count++;
	}
	envp = calloc(count + 2, sizeof(*envp));
	pythonpath = path ? spdk_sprintf_alloc("PYTHONPATH=%s", path) : NULL;
	if (envp == NULL || pythonpath == NULL || pipe(pipefd) != 0) {
		free(path);
		free(envp);
		free(pythonpath);
		return NULL;
	}
	free(path);
	for (i = 0; i < count; i++) {
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "PYTHONPATH=", 11) != 0) {
			envp[j++] = environ[i];
		}
	}
	envp[j] = pythonpath;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&actions, pipefd[0]);
	status = posix_spawn(&pid, SPDK_PY_PYTHON_EXE, &actions, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	free(pythonpath);
	free(envp);
	close(pipefd[1]);
	if (status != 0) {
		close(pipefd[0]);
		return NULL;
	}
	for (;;) {
		grown = realloc(out, len + 4096);
		if (grown == NULL) {
			break;
		}
		out = grown;
		n = read(pipefd[0], out + len, 4095);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += n;
	}
	close(pipefd[0]);
	if (out != NULL) {
		out[len] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (out == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* A --json config is replayed before module_init starts Python, and SPDK
 * rejects a method it does not know yet, so the methods are registered when
 * the shim is loaded: the built-in plugins' (listed at build time), and
 * SPDK_PY_PLUGINS' ("name[:state_mask],..." in SPDK_PY_RPC_METHODS, which
 * the launcher sets; else asked of Python here). Python routes each to its
 * handler once it starts.
 */
static void __attribute__((constructor))
shim_rpc_register_early(void)
{
	static const struct {
		const char	*name;
		uint32_t	state_mask;
	} builtin[] = { SPDK_PY_BUILTIN_RPC_METHODS };
	const char *env = getenv("SPDK_PY_RPC_METHODS");
	char *list, *item, *save = NULL, *colon;
	size_t i;

	for (i = 0; i < SPDK_COUNTOF(builtin); i++) {
		spdk_py_rpc_register(builtin[i].name, builtin[i].state_mask);
	}
	if (env != NULL) {
		list = strdup(env);
	} else if (getenv("SPDK_PY_PLUGINS") != NULL) {
		list = shim_rpc_methods_from_python();
		if (list == NULL) {
			SPDK_ERRLOG("spdk_py: could not list the RPC methods of SPDK_PY_PLUGINS=%s "
				    "(%s -m spdk_py.tools.rpc_methods failed): a --json config "
				    "calling them will not load\n", getenv("SPDK_PY_PLUGINS"),
				    SPDK_PY_PYTHON_EXE);
		}
	} else {
		list = NULL;
	}
	if (list == NULL) {
		return;
	}
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		colon = strchr(item, ':');
		if (colon != NULL) {
			*colon = '\0';
		}
		spdk_py_rpc_register(item, colon ? strtoul(colon + 1, NULL, 0) : SPDK_RPC_RUNTIME);
	}
	free(list);
}

void
spdk_py_rpc_send_result(struct spdk_jsonrpc_request *request, const char *json, size_t len)
{
	struct spdk_json_write_ctx *w = spdk_jsonrpc_begin_result(request);

	if (w == NULL) {
		return;
	}
	spdk_json_write_val_raw(w, json, len);
	spdk_jsonrpc_end_result(request, w);
}

int
spdk_py_json_write_named_raw(struct spdk_json_write_ctx *w, const char *name,
			     const char *json, size_t len)
{
	int rc = spdk_json_write_name(w, name);

	return rc ? rc : spdk_json_write_val_raw(w, json, len);
}
