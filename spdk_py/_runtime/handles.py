"""The one registry of Python objects C holds handles to (cffi's
new_handle): each is kept alive from the handle's making until C says it
is done with it, never freed under C's feet (cffi's rule for handles)."""

from __future__ import annotations

from typing import Any

from spdk_py._runtime.binding import binding

_kept: dict[int, tuple[Any, Any]] = {}


def keep(obj: Any) -> Any:
    """A handle for obj (the same one again while it is kept); obj lives until release()."""
    entry = _kept.get(id(obj))
    if entry is None:
        # setdefault: two threads keeping obj at once get the same handle.
        entry = _kept.setdefault(id(obj), (obj, binding.ffi.new_handle(obj)))
    return entry[1]


def release(obj: Any) -> None:
    """C holds obj's handle no more."""
    _kept.pop(id(obj), None)


def of(handle: Any) -> Any:
    """The object a handle C passed in stands for."""
    return binding.ffi.from_handle(handle)


def kept(kind: type | tuple[type, ...] = object) -> list:
    """The objects kept, of a kind: for introspection and reload."""
    return [obj for obj, _ in list(_kept.values()) if isinstance(obj, kind)]
