"""Objects every reactor reads on the I/O path (a disk, its engine, a
thread.local, what hook code loads on each call), marked for deferred
reference counting on a free-threaded CPython: the interpreter then stops
writing their reference counts for references on its stack, and two
reactors loading one object no longer bounce its header's cache line
between their cores (perf: on 2 reactors, the RAM disk's eval loop waited
there for a third of its time; the mirror's, on a closure's cells, the
globals its batch loads and its routing table). Such an object is freed by
the cyclic garbage collector, not at its last reference. A no-op where the
GIL is on, and before 3.14 (no such call)."""

from __future__ import annotations

import ctypes
import sys
import types
import weakref
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")


def _free_threaded_call(name: str, restype: Any) -> Optional[Callable[[Any], Any]]:
    """CPython's C function name(PyObject *), where the GIL is off and it exists."""
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    try:
        call = getattr(ctypes.pythonapi, name)
    except AttributeError:
        return None
    call.argtypes = [ctypes.py_object]
    call.restype = restype
    return call


_defer = _free_threaded_call("PyUnstable_Object_EnableDeferredRefcount", ctypes.c_int)


def read_by_every_reactor(obj: T) -> T:
    """obj, its reference count deferred where that helps (see above)."""
    if _defer is not None:
        _defer(obj)
    return obj


# Classes and modules already walked (a reload's new classes are new ones).
_walked: "weakref.WeakSet[Any]" = weakref.WeakSet()


def read_by_every_reactor_code(*namespaces: Any) -> None:
    """What the functions of these modules and classes (and their bases)
    load on each call, deferred: their closures' cells and values, the
    globals they name, the class's attributes (its methods, an enum's
    members, its constants). Walked once each."""
    if _defer is None:
        return
    for namespace in namespaces:
        owners = namespace.__mro__[:-1] if isinstance(namespace, type) else (namespace,)
        for owner in owners:
            if owner in _walked:
                continue
            _walked.add(owner)
            for value in list(vars(owner).values()):
                _defer(value)
                fn = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if isinstance(fn, types.FunctionType):
                    read_by_every_reactor_function(fn)


def read_by_every_reactor_function(fn: Any) -> Any:
    """fn, and what it loads on each call deferred: its closure's cells and
    their values, the globals it names."""
    if _defer is None:
        return fn
    for cell in fn.__closure__ or ():
        _defer(cell)
        try:
            _defer(cell.cell_contents)
        except ValueError:  # (a cell not yet filled)
            pass
    known = fn.__globals__
    for name in fn.__code__.co_names:
        if name in known:
            _defer(known[name])
    return fn


_immortalize = _free_threaded_call("_Py_SetImmortal", None)


def callback_types_immortal(ffi: Any, lib: Any, names: Any) -> None:
    """The cffi types of these C-to-Python callbacks' arguments, made
    immortal on a free-threaded CPython: cffi makes a cdata object per
    pointer argument per call, and each holds a reference to its type, so
    every reactor's every batch wrote those types' reference counts (C's
    Py_INCREF, which a deferred count does not spare). ffi keeps its types
    for the process's life anyway. CPython's own _Py_SetImmortal (private;
    skipped where it is missing), called at start, before any batch."""
    if _immortalize is None:
        return
    seen: set[int] = set()
    for name in names:
        fn_type = ffi.typeof(getattr(lib, name))
        for ctype in (*fn_type.args, fn_type.result):
            while id(ctype) not in seen:
                seen.add(id(ctype))
                _immortalize(ctype)
                ctype = getattr(ctype, "item", ctype)  # (a pointer's, an array's item type)
