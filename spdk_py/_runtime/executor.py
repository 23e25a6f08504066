"""Whether reactors run their Python batches at the same time.

With a GIL, one reactor's batch runs at a time: the shim's executor lock
lets a reactor that finds Python busy go on with its C work instead of
waiting for the GIL. A free-threaded CPython (3.14t) has no GIL: every
reactor runs its batches together. SPDK_PY_EXECUTOR_LOCK overrides either:
``off`` runs the batches together on a GIL build too (the GIL alone
serializes them, at bytecode boundaries: how CI runs the free-threaded
path's code), ``on`` keeps the lock on a free-threaded one.
"""

from __future__ import annotations

import os
import sys

from spdk_py._runtime import log

SETTING = "SPDK_PY_EXECUTOR_LOCK"


def gil_enabled() -> bool:
    """Whether this interpreter runs with a GIL now (3.13+ can say no)."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def together() -> bool:
    """Whether reactors enter Python together (the executor lock shared)."""
    setting = os.environ.get(SETTING, "").strip().lower()
    if setting == "off":
        return True
    if setting == "on":
        return False
    if setting not in ("", "auto"):
        log.error("%s=%r: expected on, off or auto; auto it is" % (SETTING, setting))
    return not gil_enabled()


def describe(shared: bool) -> str:
    """For the start-up line: the GIL, and how reactors share Python."""
    gil = "GIL on" if gil_enabled() else "free-threaded, GIL off"
    how = "reactors run Python together" if shared else "one reactor in Python at a time"
    return "%s; %s" % (gil, how)
