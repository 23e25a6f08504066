"""The embedded host: Python's start in the target, and every extern "Python"
callback the shim calls (each named python_*: where C enters Python).

No Python exception crosses into C. A callback that fails on behalf of an I/O
returns a value that makes C fail that I/O; one that fails on the control path
logs and returns its error value; the target keeps running either way.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
import traceback
from time import perf_counter_ns
from types import ModuleType
from typing import Any, Callable

from spdk_py._runtime import (app, bdev, completion, disk_registry, executor, introspect, log,
                              plugins as plugin_names, reload, rpc, vbdev_registry)
from spdk_py._runtime.binding import binding
from spdk_py._runtime.io_errors import io_exception
from spdk_py._runtime.loop import enter as enter_loop
from spdk_py._runtime.shared import (callback_types_immortal, read_by_every_reactor_code,
                                     read_by_every_reactor_function)

# How long a Python thread may hold the GIL while another waits for it.
SWITCH_INTERVAL_S = 0.0001

# The plugin modules loaded at start, in order.
plugins: list[ModuleType] = []


def _control_exception(what: str) -> None:
    log.error("%s raised:\n%s" % (what, traceback.format_exc()))


def _each_plugin(hook: str, *args: Any) -> list:
    """Call hook on every plugin that defines it; one failing does not stop the rest."""
    results = []
    for plugin in plugins:
        func = getattr(plugin, hook, None)
        if func is None:
            continue
        try:
            results.append(func(*args))
        except Exception:
            _control_exception("%s.%s" % (plugin.__name__, hook))
    return results


def load_plugins() -> None:
    # The working directory, as for `python -c`: a user's own module is found there.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, "")
    for name in plugin_names.configured():
        plugins.append(plugin_names.import_plugin(name))
    for name in plugin_names.SERVICES:
        plugin_names.import_plugin(name)
    reload.plugins = plugins
    introspect.plugins = plugins


# The names of C's callbacks into Python (the extern "Python" functions).
_callbacks: list[str] = []


def _guarded(ffi: Any, error: Any = None, keyed: bool = False,
             enter: bool = True) -> Callable[[Callable], Callable]:
    """ffi.def_extern for a callback of C's: whatever it raises is logged and
    it returns error, so no exception reaches cffi (which would print
    "Exception ignored" and return 0, or garbage, to C). First, asyncio's
    running loop becomes this SPDK thread's. keyed: C passes the thread's
    key first (the hot callbacks: asking C for it would release the GIL);
    enter=False: the callback enters the loop itself (and gets the key)."""
    def define(func: Callable) -> Callable:
        @functools.wraps(func)
        def guarded(*args: Any) -> Any:
            try:
                if not enter:
                    return func(*args)
                if keyed:
                    enter_loop(args[0])
                    return func(*args[1:])
                enter_loop()
                return func(*args)
            except BaseException:
                _control_exception(func.__name__)
                return error
        # (Every reactor calls it: its cells and what it loads, deferred.)
        read_by_every_reactor_function(func)
        read_by_every_reactor_function(guarded)
        _callbacks.append(func.__name__)
        return ffi.def_extern(**({} if error is None else {"error": error}))(guarded)
    return define


def install(ffi: Any, lib: Any) -> None:
    """Bind ffi/lib and define every extern "Python" function on them."""
    binding.install(ffi, lib)
    from_handle = ffi.from_handle

    @_guarded(ffi, error=-1)
    def python_start() -> int:
        # A reactor that enters Python waits for a worker thread holding the
        # GIL until the worker blocks or this interval runs out (default 5 ms):
        # keep a reactor's wait well under a millisecond.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            log.check_levels(lib)
            load_plugins()
            bdev.check_all()
            rpc.register_all()
        except Exception:
            _control_exception("spdk_py start")
            return -1
        _each_plugin("init")
        # (After the plugins' imports: a C extension not made for a
        # free-threaded CPython turns its GIL back on.)
        shared = executor.together()
        lib.spdk_py_set_together(shared)
        read_by_every_reactor_code(*[module for name, module in list(sys.modules.items())
                                     if name.startswith("spdk_py.")])
        callback_types_immortal(binding.ffi, lib, _callbacks)
        # What start-up made lives as long as the target: out of the garbage
        # collector's full passes, which would otherwise walk it on a reactor.
        gc.freeze()
        log.notice("spdk_py: Python %s started (%s), plugins: %s"
                   % (".".join(map(str, sys.version_info[:3])), executor.describe(shared),
                      ", ".join(p.__name__ for p in plugins)))
        return 0

    # The app stops (a signal: the application drains its I/Os first), and the
    # bdev layer's own shutdown: what the hooks keep ends now.
    def end_kept() -> None:
        for owner in vbdev_registry.nodes:
            owner._engine.shutdown()
        disk_registry.shutdown()

    @_guarded(ffi)
    def python_app_stopping() -> None:
        end_kept()

    @_guarded(ffi)
    def python_task_expired(py: Any, ticket: int) -> None:
        from_handle(py).hook_tasks.expired(ticket)

    @_guarded(ffi)
    def python_fini_start() -> None:
        end_kept()

    @_guarded(ffi)
    def python_module_fini() -> None:
        vbdev_registry.fini()
        _each_plugin("fini")

    @_guarded(ffi)
    def python_examine(bdev_ptr: Any) -> None:
        name = ffi.string(lib.spdk_bdev_get_name(bdev_ptr)).decode()
        vbdev_registry.examine(name)
        _each_plugin("examine", name)

    @_guarded(ffi, error=0)
    def python_config_json(w: Any) -> int:
        entries = vbdev_registry.config_json() + disk_registry.config_json()
        for more in _each_plugin("config_json"):
            entries.extend(more)
        for text in entries:
            raw = text.encode()
            lib.spdk_json_write_val_raw(w, raw, len(raw))
        return 0

    # A vbdev's batches handle each I/O's exception themselves; what escapes
    # fails the I/Os of the batch (C held every status at FAILED), logged as
    # the vbdev's.
    def vbdev_batch(kind: str, py: Any, ios: Any, types: Any, statuses: Any, n: int) -> int:
        engine = from_handle(py)
        try:
            getattr(engine, kind)(ios, types, statuses, n)
        except Exception as exc:
            io_exception(engine, kind, types[0], exc)
            return -1
        return 0

    @_guarded(ffi, error=-1, keyed=True)
    def python_submit_batch(py: Any, ios: Any, types: Any, statuses: Any, n: int) -> int:
        return vbdev_batch("submit_batch", py, ios, types, statuses, n)

    @_guarded(ffi, error=-1, keyed=True)
    def python_complete_batch(py: Any, ios: Any, types: Any, statuses: Any, n: int) -> int:
        return vbdev_batch("complete_batch", py, ios, types, statuses, n)

    # A disk's batch: the disk fails only the I/O whose hook raised; what
    # escapes fails the batch (C pre-set every status to FAILED and every
    # route to none; run_batch writes them back only at its end).
    @_guarded(ffi, error=-1, enter=False)
    def python_disk_batch(thread: int, py: Any, ios: Any, types: Any, offsets: Any, nblocks: Any,
                          bases: Any, lens: Any, statuses: Any, routes: Any, n: int,
                          entered: Any) -> int:
        entered[0] = perf_counter_ns()  # no C call first: it would release the GIL
        enter_loop(thread)  # (after: making a thread's loop is no wait for the GIL)
        from_handle(py).run_batch(ios, types, offsets, nblocks, bases, lens, statuses, routes, n)
        return 0

    # A disk over bases (spdk_py.base_bdevs): this thread's channel of each
    # base, and the bases C failed.
    @_guarded(ffi, error=-1)
    def python_disk_bind_bases(py: Any, table: Any) -> int:
        from_handle(py).bind_bases(table)
        return 0

    @_guarded(ffi)
    def python_disk_bases_failed(py: Any, slots: int, status: int) -> None:
        from_handle(py).bases_failed(slots, status)

    @_guarded(ffi, error=False)
    def python_io_type_supported(py: Any, io_type: int) -> bool:
        return from_handle(py).io_type_supported(io_type)

    @_guarded(ffi, error=0)
    def python_dump_info_json(py: Any, w: Any) -> int:
        info = from_handle(py).dump_info()
        if info is not None:
            key, value = info
            raw = json.dumps(value).encode()
            lib.spdk_py_json_write_named_raw(w, key.encode(), raw, len(raw))
        return 0

    @_guarded(ffi, error=0)
    def python_destruct(py: Any) -> int:
        return from_handle(py).destruct()

    @_guarded(ffi)
    def python_released(py: Any) -> None:
        from_handle(py).released()

    @_guarded(ffi)
    def python_base_event(event_type: int, bdev_ptr: Any) -> None:
        vbdev_registry.base_event(event_type, bdev_ptr)
        _each_plugin("base_event", event_type, bdev_ptr)

    # -1 (before Python answered) makes C answer with an internal error;
    # rpc.call itself answers every request exactly once.
    @_guarded(ffi, error=-1)
    def python_rpc_call(method: Any, request: Any, params: Any, length: int) -> int:
        text = ffi.unpack(params, length).decode() if params != ffi.NULL else None
        rpc.call(ffi.string(method).decode(), request, text)
        return 0

    @_guarded(ffi)
    def python_done(cb_arg: Any, rc: int) -> None:
        completion.finished(cb_arg, rc)

    # Python on SPDK's threads: pollers, messages, own I/O, the app's start.
    @_guarded(ffi, error=-1, keyed=True)
    def python_poll(py: Any) -> int:
        return from_handle(py).run()

    @_guarded(ffi)
    def python_message(py: Any) -> None:
        from_handle(py).run()

    @_guarded(ffi)
    def python_bdev_desc_event(py: Any, event_type: int) -> None:
        from_handle(py).event(event_type)

    @_guarded(ffi, keyed=True)
    def python_io_channel_batch(py: Any, tags: Any, statuses: Any, n: int) -> None:
        from_handle(py).batch(tags, statuses, n)

    @_guarded(ffi, keyed=True)
    def python_io_channel_bulk(py: Any, slots: Any, statuses: Any, n: int) -> None:
        from_handle(py).bulk_batch(slots, statuses, n)

    @_guarded(ffi)
    def python_io_channel_closed(py: Any) -> None:
        from_handle(py).closed()

    @_guarded(ffi, error=-1)
    def python_io_device_channel(py: Any, key: Any, create: bool) -> int:
        return from_handle(py).channel_event(key, create)

    @_guarded(ffi, error=-1)
    def python_io_device_each(py: Any, key: Any) -> int:
        return from_handle(py).run(key)

    @_guarded(ffi)
    def python_app_started() -> None:
        app.started()
