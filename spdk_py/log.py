"""Log lines from Python go to SPDK's own log, beside the C modules' lines."""

import sys

from spdk_py._runtime.binding import binding

# spdk/log.h's levels; checked against the compiled lib when the host starts.
ERROR, WARN, NOTICE, INFO, DEBUG = 0, 1, 2, 3, 4
_NAMES = {ERROR: "ERROR", WARN: "WARN", NOTICE: "NOTICE", INFO: "INFO", DEBUG: "DEBUG"}


def _emit(level, msg):
    if binding.installed:
        binding.lib.spdk_py_log(level, msg.encode("utf-8", "backslashreplace"))
    else:
        print("spdk_py %s: %s" % (_NAMES[level], msg), file=sys.stderr)


def error(msg):
    _emit(ERROR, msg)


def warn(msg):
    _emit(WARN, msg)


def notice(msg):
    _emit(NOTICE, msg)


def info(msg):
    _emit(INFO, msg)
