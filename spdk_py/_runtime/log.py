"""Log lines from Python into SPDK's own log, beside the C modules' lines
(stderr outside a target)."""

from __future__ import annotations

import sys

from spdk_py._runtime.binding import binding

# spdk/log.h's levels; checked against the compiled lib when the host starts.
ERROR, WARN, NOTICE, INFO, DEBUG = 0, 1, 2, 3, 4
NAMES = {ERROR: "ERROR", WARN: "WARN", NOTICE: "NOTICE", INFO: "INFO", DEBUG: "DEBUG"}


def emit(level: int, msg: str) -> None:
    if binding.installed:
        binding.lib.spdk_py_log(level, msg.encode("utf-8", "backslashreplace"))
    else:
        print("spdk_py %s: %s" % (NAMES[level], msg), file=sys.stderr)


def error(msg: str) -> None:
    emit(ERROR, msg)


def warn(msg: str) -> None:
    emit(WARN, msg)


def notice(msg: str) -> None:
    emit(NOTICE, msg)


def check_levels(lib) -> None:
    """Raise if a level here is not spdk/log.h's."""
    wrong = [name for level, name in NAMES.items()
             if getattr(lib, "SPDK_LOG_" + name, level) != level]
    if wrong:
        raise RuntimeError("spdk_py's log levels differ from SPDK's: " + ", ".join(wrong))
