"""Objects every reactor reads on the I/O path (a disk, its engine, a
thread.local), marked for deferred reference counting on a free-threaded
CPython: the interpreter then stops writing their reference counts for
references on its stack, and two reactors loading one object no longer
bounce its header's cache line between their cores (perf: on 2 reactors,
the RAM disk's eval loop waited there for a third of its time). Such an
object is freed by the cyclic garbage collector, not at its last reference.
A no-op where the GIL is on, and before 3.14 (no such call)."""

from __future__ import annotations

import ctypes
import sys
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")


def _deferring() -> Optional[Callable[[Any], int]]:
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    try:
        call = ctypes.pythonapi.PyUnstable_Object_EnableDeferredRefcount
    except AttributeError:
        return None
    call.argtypes = [ctypes.py_object]
    call.restype = ctypes.c_int
    return call


_defer = _deferring()


def read_by_every_reactor(obj: T) -> T:
    """obj, its reference count deferred where that helps (see above)."""
    if _defer is not None:
        _defer(obj)
    return obj
