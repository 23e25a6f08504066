"""Exceptions raised on behalf of one I/O: counted on its bdev, logged at a
bounded rate. The I/O itself is failed by C; this is what a person reading
the log sees."""

from __future__ import annotations

import time
from typing import Any

from spdk_py._runtime import log
from spdk_py._runtime.bdev import io_type_name


class _RateLimit:
    """At most `burst` log lines a second per key; counts what it drops."""

    def __init__(self, burst: int = 10) -> None:
        self.burst = burst
        self.window: dict[str, tuple[int, int, int]] = {}

    def allow(self, key: str) -> bool:
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


def io_exception(engine: Any, hook: str, io_type: int, exc: BaseException) -> None:
    """An exception on behalf of one I/O of engine's bdev: count it, log it (rate limited)."""
    engine.counts.here()[-1] += 1
    key = "%s %s" % (engine.name, hook)
    if _io_log_limit.allow(key):
        log.error("vbdev %s: %s raised %s: %s; failing the %s I/O"
                  % (engine.name, hook, type(exc).__name__, exc, io_type_name(io_type)))


def bad_result(engine: Any, hook: str, io_type: int, result: Any) -> None:
    """A hook returned something that is not None, an IoStatus or a Later."""
    io_exception(engine, hook, io_type, TypeError(
        "it returned %r: a hook returns None, an IoStatus or a Later" % (result,)))
