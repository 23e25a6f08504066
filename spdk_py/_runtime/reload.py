"""Hot reload: a plugin module's new code in a running target, with I/O quiesced.

    spdk_py_reload_plugin {"name": "my_plugin"}

1. The new source is compiled and run into a fresh module object, its RPC
   methods kept aside. If that fails, the answer is the error and nothing
   has changed: the old code keeps running.
2. Python's I/O path pauses: I/Os arriving for Python wait in their
   channel's queue in C; those Python already holds finish (completions
   still flow). The swap waits until no channel has an I/O in Python's hands.
3. The swap, with no I/O in Python and no reactor in a Python batch: the
   module in sys.modules, its RPC methods (new ones registered in the
   target), and the class of each of its live vbdevs, whose state is kept.
   A module-level `migrate(old_module)` in the new code, if any, runs first
   and may carry module state over (if it raises, nothing is swapped).
4. Python resumes: the queued I/Os go to the new code.

spdk_py's own modules are not reloadable: other modules hold references to
their objects.
"""

import errno
import functools
import importlib.util
import sys
import time
import traceback
from types import ModuleType
from typing import Any, Optional

from spdk_py._runtime import completion, disk_registry, log, rpc, vbdev, vbdev_registry
from spdk_py._runtime.binding import binding
from spdk_py._runtime.errors import RpcError
from spdk_py._runtime.rpc import INVALID_PARAMS, Request

QUIESCE_TIMEOUT_S = 10.0
POLL_US = 1000

# The plugin modules loaded (the host's list, set at start).
plugins: list[ModuleType] = []

_in_progress = False


def _reloadable(name: str) -> ModuleType:
    if name.split(".")[0] == "spdk_py" and not name.startswith("spdk_py.examples."):
        raise RpcError(INVALID_PARAMS, "%s is part of spdk_py and cannot be reloaded; "
                       "restart the target to change it" % name)
    module = sys.modules.get(name)
    loaded = [p.__name__ for p in plugins]
    # A loaded plugin, or the module of a live Python disk's class.
    disk_modules = {type(d).__module__ for d in disk_registry.disks.values()}
    if module is None or module.__name__ not in loaded + sorted(disk_modules):
        raise RpcError(INVALID_PARAMS, "%s is not a loaded plugin (loaded: %s) nor a "
                       "disk plugin in use" % (name, ", ".join(loaded + sorted(disk_modules))))
    return module


def _load(old: ModuleType) -> tuple[ModuleType, dict]:
    """(new module, its RPC methods): the new code run aside, sys.modules untouched."""
    name = old.__name__
    try:
        spec: Any = importlib.util.find_spec(name)
        # Compiled from the source now: a .pyc of the same second and size could be stale.
        code = compile(spec.loader.get_source(name), spec.origin, "exec")
        new = importlib.util.module_from_spec(spec)
        with rpc.staged() as methods:
            # Code that looks itself up while it runs (dataclasses do) finds the new module.
            sys.modules[name] = new
            try:
                exec(code, new.__dict__)
            finally:
                sys.modules[name] = old
    except Exception as exc:
        log.error("reload of %s failed:\n%s" % (name, traceback.format_exc()))
        raise RpcError(-errno.EINVAL, "%s: the new code failed, the old code keeps running: "
                       "%s" % (name, _describe(exc))) from None
    taken = [m for m in methods if m in rpc.methods
             and rpc.methods[m].func.__module__ != name]
    if taken:
        raise RpcError(-errno.EEXIST, "%s: RPC method(s) %s belong to another plugin"
                       % (name, ", ".join(taken)))
    return new, methods


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return "SyntaxError: %s (%s, line %s)" % (exc.msg, exc.filename, exc.lineno)
    return "%s: %s" % (type(exc).__name__, exc)


def _framework_base(cls: type) -> type:
    """The framework class cls is built on (spdk_py.vbdev.Vbdev, spdk_py.disk.Disk, ...)."""
    return next(k for k in cls.__mro__ if vars(k).get("_framework") == "base")


def _new_class(new: Any, cls: type) -> type:
    """The new module's class of the same name, which must still be built on
    the same framework class (a Vbdev, a Disk)."""
    kind = _framework_base(cls)
    replacement = getattr(new, cls.__qualname__, None)
    if not (isinstance(replacement, type) and issubclass(replacement, kind)):
        raise RpcError(-errno.EINVAL, "%s: the new code has no %s class %s, which live "
                       "%ss use; the old code keeps running"
                       % (new.__name__, kind.__name__, cls.__qualname__, kind.__name__.lower()))
    return replacement


def _remap_factory(factory: Any, name: str, new: Any) -> Any:
    """A pending creation's factory, pointed at the new code's class."""
    if isinstance(factory, functools.partial):
        return functools.partial(_remap_factory(factory.func, name, new), *factory.args,
                                 **factory.keywords)
    if isinstance(factory, type) and factory.__module__ == name:
        return _new_class(new, factory)
    return factory


class Reload:
    """One reload, answered on request when done."""

    def __init__(self, request: Request, old: ModuleType) -> None:
        self.request = request
        self.old = old
        self.name = old.__name__
        self.new, self.methods = _load(old)
        self.vbdevs = [vb for vb in vbdev.live() if type(vb).__module__ == self.name]
        # Disks' batches run under the executor lock, which the swap holds:
        # they need no pause of their own.
        self.disks = [d for d in disk_registry.disks.values() if type(d).__module__ == self.name]
        # Every class the swap needs, checked before anything pauses.
        self.classes = {type(obj): _new_class(self.new, type(obj))
                        for obj in self.vbdevs + self.disks}
        self.factories = {n: _remap_factory(n.factory, self.name, self.new)
                          for n in vbdev_registry.bdev_names}
        self.started = time.monotonic()

    def start(self) -> None:
        binding.lib.spdk_py_pause(True)
        self._poll()

    def _later(self, step: Any) -> None:
        rc = binding.lib.spdk_py_call_later(POLL_US, completion.waiter(lambda rc: step()))
        if rc:
            self._finish(RpcError.from_errno(rc, "cannot wait for I/O to quiesce"))

    def _poll(self) -> None:
        """Sum the I/Os in Python's hands over every vbdev's channels."""
        nodes = list(vbdev.live())
        tally = {"pending": len(nodes), "active": 0, "rc": 0}

        def counted(future: Any) -> None:
            exc = future.exception()
            tally["active"] += future.result().python_active if exc is None else 0
            tally["rc"] = tally["rc"] or (-(getattr(exc, "errno", 0) or errno.EIO)
                                          if exc is not None else 0)
            tally["pending"] -= 1
            if tally["pending"] == 0:
                self._polled(tally["active"], tally["rc"])
        if not nodes:
            self._polled(0, 0)
        for vb in nodes:
            vb._engine.collect().add_done_callback(counted)

    def _polled(self, active: int, rc: int) -> None:
        if rc == 0 and active == 0:
            self._swap_when_unlocked()
        elif time.monotonic() - self.started > QUIESCE_TIMEOUT_S:
            self._finish(RpcError(-errno.ETIMEDOUT, "%s: %d I/O(s) still in Python after %gs; "
                                  "the old code keeps running"
                                  % (self.name, active, QUIESCE_TIMEOUT_S)))
        else:
            self._later(self._poll)

    def _swap_when_unlocked(self) -> None:
        # Quiet, but a reactor may be between polls holding the executor lock.
        if binding.lib.spdk_py_try_lock_executor() != 0:
            self._later(self._swap_when_unlocked)
            return
        try:
            self._swap()
        except RpcError as exc:
            self._finish(exc)
        except Exception as exc:
            log.error("reload of %s: migrate failed:\n%s" % (self.name, traceback.format_exc()))
            self._finish(RpcError(-errno.EINVAL, "%s: migrate() failed, the old code keeps "
                                  "running: %s" % (self.name, _describe(exc))))
        else:
            self._finish(None)
        finally:
            binding.lib.spdk_py_unlock_executor()

    def _swap(self) -> None:
        migrate = getattr(self.new, "migrate", None)
        if migrate is not None:
            migrate(self.old)
        # Nothing below fails short of a bug: the swap is all or nothing.
        # Under every name it is imported by (a checkout's examples.* names
        # spdk_py.examples.*' modules too).
        for key in [k for k, m in list(sys.modules.items()) if m is self.old]:
            sys.modules[key] = self.new
            parent, _, leaf = key.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], leaf, self.new)
        if self.old in plugins:
            plugins[plugins.index(self.old)] = self.new
        for method in [m for m, d in rpc.methods.items() if d.func.__module__ == self.name]:
            del rpc.methods[method]
        rpc.methods.update(self.methods)
        rpc.register_all(self.methods)
        for obj in self.vbdevs + self.disks:
            obj.__class__ = self.classes[type(obj)]
            obj._engine.bind_hooks()
        for pending in vbdev_registry.bdev_names:
            pending.factory = self.factories.get(pending, pending.factory)

    def _finish(self, error: Optional[RpcError]) -> None:
        global _in_progress
        binding.lib.spdk_py_pause(False)
        _in_progress = False
        if error is not None:
            self.request.error(error.code, error.message)
            return
        took_ms = (time.monotonic() - self.started) * 1e3
        log.notice("reloaded %s in %.1f ms (%d vbdevs, %d disks)"
                   % (self.name, took_ms, len(self.vbdevs), len(self.disks)))
        self.request.result({"name": self.name, "vbdevs": sorted(vb.name for vb in self.vbdevs),
                             "disks": sorted(d.name for d in self.disks),
                             "methods": list(self.methods), "took_ms": round(took_ms, 3)})


def spdk_py_reload_plugin(request: Request, params: dict) -> None:
    """Reload a plugin module's code in the running target, I/O quiesced for the swap."""
    global _in_progress
    if _in_progress:
        raise RpcError(-errno.EBUSY, "a reload is already in progress")
    job = Reload(request, _reloadable(params["name"]))
    _in_progress = True
    job.start()


rpc.define("spdk_py_reload_plugin", spdk_py_reload_plugin, {"name": str}, None, rpc.RUNTIME,
           True, None)
