"""Run an SPDK application with the Python bdev modules loaded.

    spdk-py run [--app spdk_tgt] [--plugins mod1,mod2] [--main mod:func] [--] <SPDK arguments>

The shim goes into LD_PRELOAD of the SPDK binary itself (never of a wrapper),
with SPDK's libraries on LD_LIBRARY_PATH and the embedded interpreter's import
path in SPDK_PY_PATH; then the binary replaces this process.
"""

import os
import sys
import sysconfig

from spdk_py._runtime.app import MAIN_ENV
from spdk_py.tools import provision, rpc_methods, shim, spdk_identity

APPS = ("spdk_tgt", "nvmf_tgt", "bdevperf", "spdk_dd")


def app_env(install, shim_path, plugins=None, base=None, main=None):
    """The environment an SPDK application needs to load the Python modules;
    ShimMismatch if the shim was built for another SPDK than install."""
    spdk_identity.check(shim_path, install.root)
    env = install.env(base)
    preload = [*shim.sanitizer_runtime(), str(shim_path)]
    if env.get("LD_PRELOAD"):
        preload.append(env["LD_PRELOAD"])
    env["LD_PRELOAD"] = ":".join(preload)
    if shim.SANITIZE:
        # The interpreter's own allocations are not ours to report at exit.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1:quarantine_size_mb=%d"
                       % shim.ASAN_QUARANTINE_MB)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env.setdefault("TSAN_OPTIONS", "suppressions=%s:second_deadlock_stack=1"
                       % os.path.join(os.path.dirname(__file__), "tsan.supp"))
    # The caller's PYTHONPATH too: that is where a user's own plugin modules are.
    env["SPDK_PY_PATH"] = ":".join(filter(None, [os.environ.get("PYTHONPATH"),
                                                 shim.python_path()]))
    if main:
        env[MAIN_ENV] = main
    if plugins:
        env["SPDK_PY_PLUGINS"] = plugins
        # The shim registers these at load, before a --json config is replayed.
        env["SPDK_PY_RPC_METHODS"] = rpc_methods.listed(plugins)
    return env


def run(app_name, plugins, args, main=None):
    """``spdk-py run``: exec the SPDK app with the shim loaded; returns only on error."""
    if main is not None and ":" not in main:
        print("--main takes MODULE:FUNCTION, not %r" % main, file=sys.stderr)
        return 2
    try:
        install = provision.locate()
        shim_path = shim.build(install, quiet=True)
        env = app_env(install, shim_path, plugins, main=main)
    except (provision.SpdkMissing, shim.ShimBuildFailed, spdk_identity.ShimMismatch) as exc:
        print(exc, file=sys.stderr)
        return 1
    binary = str(install.bin(app_name))
    print("spdk-py: %s, Python %s (%s), SPDK at %s" % (app_name, python_build(), sys.executable,
                                                     install.root), file=sys.stderr)
    os.execve(binary, [binary] + list(args), env)


def python_build():
    """This Python's version, and whether it has a GIL: what the target embeds."""
    free = sysconfig.get_config_var("Py_GIL_DISABLED")
    return "%s, %s" % (sys.version.split()[0],
                       "free-threaded, no GIL" if free else "with a GIL")
