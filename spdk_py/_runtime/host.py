"""The embedded host: every extern "Python" callback the shim calls lands here.

No Python exception crosses into C. A callback that fails on behalf of an I/O
returns a value that makes C fail that I/O; one that fails on the control path
logs and returns its error value; the target keeps running either way.
"""

import functools
import gc
import importlib
import json
import sys
import traceback
from time import perf_counter_ns

from spdk_py import app, bdev, jsonrpc, log, nvme_cmd  # noqa: F401 (nvme_cmd: its RPC)
from spdk_py._runtime import introspect, reload, waiters  # noqa: F401 (their RPCs)
from spdk_py._runtime.io_errors import io_exception
from spdk_py._runtime.binding import binding
from spdk_py._runtime.plugins import configured as configured_plugins

# How long a Python thread may hold the GIL while another waits for it.
SWITCH_INTERVAL_S = 0.0001

# The plugin modules loaded at start, in order.
plugins = []


def _control_exception(what):
    log.error("%s raised:\n%s" % (what, traceback.format_exc()))


def _each_plugin(hook, *args):
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


def load_plugins():
    for name in configured_plugins():
        plugins.append(importlib.import_module(name))


def _guarded(ffi, error=None):
    """ffi.def_extern for a callback of C's: whatever it raises is logged and
    it returns error, so no exception reaches cffi (which would print
    "Exception ignored" and return 0, or garbage, to C)."""
    def define(func):
        @functools.wraps(func)
        def guarded(*args):
            try:
                return func(*args)
            except BaseException:
                _control_exception(func.__name__)
                return error
        return ffi.def_extern(**({} if error is None else {"error": error}))(guarded)
    return define


def install(ffi, lib):
    """Bind ffi/lib and define every extern "Python" function on them."""
    binding.install(ffi, lib)
    bdev.check_against(lib)
    from_handle = ffi.from_handle

    @_guarded(ffi, error=-1)
    def python_start():
        # A reactor that enters Python waits for a worker thread holding the
        # GIL until the worker blocks or this interval runs out (default 5 ms):
        # keep a reactor's wait well under a millisecond.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            load_plugins()
            jsonrpc.register_all()
        except Exception:
            _control_exception("spdk_py start")
            return -1
        _each_plugin("init")
        # What start-up made lives as long as the target: out of the garbage
        # collector's full passes, which would otherwise walk it on a reactor.
        gc.freeze()
        log.notice("spdk_py: Python %s started, plugins: %s"
                   % (".".join(map(str, sys.version_info[:3])),
                      ", ".join(p.__name__ for p in plugins)))
        return 0

    @_guarded(ffi)
    def python_module_fini():
        _each_plugin("fini")

    @_guarded(ffi)
    def python_examine(bdev_ptr):
        name = ffi.string(lib.spdk_bdev_get_name(bdev_ptr)).decode()
        _each_plugin("examine", name)

    @_guarded(ffi, error=0)
    def python_config_json(w):
        for entries in _each_plugin("config_json"):
            for text in entries:
                raw = text.encode()
                lib.spdk_json_write_val_raw(w, raw, len(raw))
        return 0

    # The batch hooks handle each I/O's exception themselves; what escapes
    # them makes C fail the I/Os the batch had not dealt with.
    @_guarded(ffi, error=-1)
    def python_submit_batch(py, ch, ios, types, n):
        vb = from_handle(py)
        try:
            vb.submit_batch(ch, ios, types, n)
        except Exception as exc:
            io_exception(vb, "submit_batch", types[0], exc)
            return -1
        return 0

    # A disk's batch: the disk fails only the I/O whose hook raised; what
    # escapes fails the batch (C pre-set every status to FAILED and every
    # route to none; run_batch writes them back only at its end).
    @_guarded(ffi, error=-1)
    def python_disk_batch(py, ios, types, offsets, nblocks, bases, lens, statuses, routes, n,
                           entered):
        entered[0] = perf_counter_ns()  # no C call first: it would release the GIL
        from_handle(py).run_batch(ios, types, offsets, nblocks, bases, lens, statuses, routes, n)
        return 0

    # A disk over bases (spdk_py.base_bdevs): this thread's channel of each
    # base, and the bases C failed.
    @_guarded(ffi, error=-1)
    def python_disk_bind_bases(py, table):
        from_handle(py).bind_bases(table)
        return 0

    @_guarded(ffi)
    def python_disk_bases_failed(py, slots, status):
        from_handle(py).bases_failed(slots, status)

    @_guarded(ffi, error=-1)
    def python_complete_batch(py, ios, types, statuses, n):
        vb = from_handle(py)
        try:
            vb.complete_batch(ios, types, statuses, n)
        except Exception as exc:
            io_exception(vb, "complete_batch", types[0], exc)
            return -1
        return 0

    @_guarded(ffi, error=False)
    def python_io_type_supported(py, io_type):
        return bool(from_handle(py).io_type_supported(io_type))

    @_guarded(ffi, error=0)
    def python_dump_info_json(py, w):
        info = from_handle(py).dump_info()
        if info is not None:
            key, value = info
            raw = json.dumps(value).encode()
            lib.spdk_py_json_write_named_raw(w, key.encode(), raw, len(raw))
        return 0

    @_guarded(ffi, error=0)
    def python_destruct(py):
        return from_handle(py).destruct()

    @_guarded(ffi)
    def python_released(py):
        from_handle(py).released()

    @_guarded(ffi)
    def python_base_event(event_type, bdev_ptr):
        _each_plugin("base_event", event_type, bdev_ptr)

    # -1 (before Python answered) makes C answer with an internal error;
    # jsonrpc.call itself answers every request exactly once.
    @_guarded(ffi, error=-1)
    def python_rpc_call(method, request, params, length):
        text = ffi.unpack(params, length).decode() if params != ffi.NULL else None
        jsonrpc.call(ffi.string(method).decode(), request, text)
        return 0

    @_guarded(ffi)
    def python_done(key, rc):
        waiters.finished(int(ffi.cast("uintptr_t", key)), rc)

    # Python on SPDK's threads: pollers, messages, own I/O, the app's start.
    @_guarded(ffi, error=-1)
    def python_poll(py):
        return from_handle(py).run()

    @_guarded(ffi)
    def python_message(py):
        from_handle(py).run()

    @_guarded(ffi)
    def python_bdev_desc_event(py, event_type):
        from_handle(py).event(event_type)

    @_guarded(ffi)
    def python_io_channel_batch(py, tags, statuses, n):
        from_handle(py).batch(tags, statuses, n)

    @_guarded(ffi)
    def python_io_channel_bulk(py, slots, statuses, n):
        from_handle(py).bulk_batch(slots, statuses, n)

    @_guarded(ffi)
    def python_io_channel_closed(py):
        from_handle(py).closed()

    @_guarded(ffi, error=-1)
    def python_io_device_channel(py, key, create):
        return from_handle(py).channel_event(key, create)

    @_guarded(ffi, error=-1)
    def python_io_device_each(py, key):
        return from_handle(py).run(key)

    @_guarded(ffi)
    def python_app_started():
        app.started()
