"""Exceptions raised on behalf of one I/O: counted on the vbdev, logged at a bounded rate.

The I/O itself is failed by C; this is what a person reading the log sees.
"""

import time

from spdk_py import log
from spdk_py.bdev import IoType


class _RateLimit:
    """At most `burst` log lines a second per key; counts what it drops."""

    def __init__(self, burst=10):
        self.burst = burst
        self.window = {}

    def allow(self, key):
        now = int(time.monotonic())
        second, count, dropped = self.window.get(key, (now, 0, 0))
        if second != now:
            if dropped:
                log.error("%s: %d more like it suppressed" % (key, dropped))
            second, count, dropped = now, 0, 0
        count += 1
        allowed = count <= self.burst
        self.window[key] = (second, count, dropped + (not allowed))
        return allowed


_io_log_limit = _RateLimit()


def io_exception(vb, hook, io_type, exc):
    """An exception on behalf of one I/O: count it, log it (rate limited)."""
    vb.exceptions += 1
    key = "%s %s" % (vb.name, hook)
    if _io_log_limit.allow(key):
        log.error("vbdev %s: %s raised %s: %s; failing the %s I/O"
                  % (vb.name, hook, type(exc).__name__, exc, _io_type_name(io_type)))


def _io_type_name(io_type):
    try:
        return IoType(io_type).name
    except ValueError:
        return "type %d" % io_type
