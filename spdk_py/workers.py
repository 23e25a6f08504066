"""Worker threads for Python's blocking work, off the reactors' cores. ::

    workers.start(target, *args, name="my-worker")
    pool = workers.Pool(8, "my-disk", done=os.close, done_args=(fd,))
    pool.put(call, arg, ...)          # call(arg, ...) in a worker
    pool.close()                      # each worker ends; the last runs done

A thread started from Python inside SPDK is started from a reactor, and
inherits that reactor's CPU affinity: one core, which the reactor keeps busy
polling. Such a worker would take the reactor's core from it (and the
reactor would wait behind it for the GIL). These threads run on the cores no
reactor uses (on every core if the reactors have them all).

Workers that release the GIL around short calls take it back before a
thread waiting for it does (CPython's GIL is not fair): whatever enters
Python behind them waits milliseconds. A disk whose hooks feed a Pool sets
`off_reactor = True` (spdk_py.disk), so that its hooks wait on spdk_py's
Python thread, not on the reactor.
"""

import os
import queue
import threading
import traceback
from typing import Any, Callable, Optional

from spdk_py import log
from spdk_py._runtime.cores import reactor_cores, worker_cores

__all__ = ["start", "Pool", "worker_cores", "reactor_cores"]


def start(target: Callable[..., Any], *args: Any, name: Optional[str] = None) -> threading.Thread:
    """A daemon thread running `target(*args)` on the cores no reactor uses."""
    cores = worker_cores()

    def run() -> None:
        os.sched_setaffinity(0, cores)
        target(*args)
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


class Pool:
    """Workers taking calls from one queue (cheaper per call than an
    executor's futures). close() never waits: each worker ends at its next
    get, and the last one out runs `done(*done_args)`, so that what the calls
    use (a file descriptor) is released only when no call can use it."""

    def __init__(self, count: int, name: str, done: Optional[Callable[..., Any]] = None,
                 done_args: tuple = ()) -> None:
        self.work: queue.SimpleQueue = queue.SimpleQueue()
        self.count = self.running = count
        self.lock = threading.Lock()
        self.done, self.done_args = done, done_args
        for i in range(count):
            start(self._run, name="%s-%d" % (name, i))

    def put(self, call: Callable[..., Any], *args: Any) -> None:
        self.work.put((call, args))

    def close(self) -> None:
        for _ in range(self.count):
            self.work.put(None)

    def _run(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                break
            try:
                item[0](*item[1])
            except Exception:  # the worker goes on: a call's failure is its own
                log.error("worker call %r raised:\n%s" % (item[0], traceback.format_exc()))
        with self.lock:
            self.running -= 1
            last = self.running == 0
        if last and self.done is not None:
            self.done(*self.done_args)
