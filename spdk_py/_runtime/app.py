"""A Python program on an SPDK application's threads: the main that
``spdk-py run --main`` names, run once the app is up, and stop()
(spdk_py.app documents them)."""

from __future__ import annotations


import importlib
import os
import traceback
from typing import Any, Callable, Optional

from spdk_py._runtime import log
from spdk_py._runtime.binding import binding
from spdk_py._runtime.tasks import Task, spawn

MAIN_ENV = "SPDK_PY_MAIN"

# The running main task, if main is a coroutine.
main_task: Optional[Task] = None


def stop(rc: int = 0) -> None:
    """Stop the SPDK application (spdk_app_stop); it exits with status rc."""
    _, lib = binding.require()
    lib.spdk_app_stop(int(rc))


def resolve(spec: str) -> Callable[[], Any]:
    """'module:function' -> the function (the module imported if needed)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError("a main is 'module:function', not %r" % spec)
    return getattr(importlib.import_module(module_name), attr)


def started() -> None:
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
        main_task = spawn(result, name=spec)
        main_task.add_done_callback(_main_done)


def _main_done(task: Any) -> None:
    exc = task.exception()
    if exc is not None:
        log.error("main %s raised:\n%s" % (task.get_name(), "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))))
        stop(1)
        return
    result = task.result()
    stop(0 if result is None else int(result))
