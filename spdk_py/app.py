"""A Python program on an SPDK application's threads.

    spdk-py run --app spdk_tgt --main mymod:main -- <SPDK arguments>

runs mymod.main() on the app thread once the application is up (its
subsystems started, its --json config loaded), in spdk_tgt or any SPDK app.
An `async def main()` runs as a task (spdk_py.coroutine) and stops the
application when it returns, with its return value as the exit status (None:
0; an exception: 1, logged). A plain `def main()` is SPDK's start callback:
it sets things up and returns; the application runs on until stop().

    from spdk_py import app
    app.stop(0)          # spdk_app_stop: the application exits with status 0
"""

import importlib
import os
import traceback

from spdk_py import log
from spdk_py._runtime.binding import binding
from spdk_py.coroutine import Task

MAIN_ENV = "SPDK_PY_MAIN"

# The running main task, if main is a coroutine.
main_task = None


def stop(rc=0):
    """Stop the SPDK application (spdk_app_stop); it exits with status rc."""
    _, lib = binding.require()
    lib.spdk_app_stop(int(rc))


def resolve(spec):
    """'module:function' -> the function (the module imported if needed)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError("a main is 'module:function', not %r" % spec)
    return getattr(importlib.import_module(module_name), attr)


def started():
    """The application is up (C's call, on the app thread): run the main, if any."""
    global main_task
    spec = os.environ.get(MAIN_ENV)
    if not spec:
        return
    try:
        result = resolve(spec)()
    except Exception:
        log.error("main %s raised:\n%s" % (spec, traceback.format_exc()))
        stop(1)
        return
    if hasattr(result, "send") and hasattr(result, "throw"):
        main_task = Task(result, name=spec)
        main_task.add_done_callback(_main_done)


def _main_done(task):
    exc = task.exception()
    if exc is not None:
        log.error("main %s raised:\n%s" % (task.name, "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))))
        stop(1)
        return
    result = task.result()
    stop(0 if result is None else int(result))
