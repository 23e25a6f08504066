"""Worker threads for Python's blocking work, off the reactors' cores.

    workers.start(target, *args, name="my-worker")

A thread started from Python inside SPDK is started from a reactor, and
inherits that reactor's CPU affinity: one core, which the reactor keeps busy
polling. Such a worker would take the reactor's core from it (and the
reactor would wait behind it for the GIL). These threads run on the cores no
reactor uses (on every core if the reactors have them all).
"""

import os
import threading

from spdk_py._runtime.binding import binding


def reactor_cores():
    """The cores SPDK's reactors run on."""
    lib = binding.require()[1]
    cores, core = [], lib.spdk_env_get_first_core()
    while core != 0xFFFFFFFF:  # UINT32_MAX ends SPDK's iteration
        cores.append(core)
        core = lib.spdk_env_get_next_core(core)
    return cores


def worker_cores():
    online = set(range(os.cpu_count() or 1))
    return (online - set(reactor_cores())) or online


def start(target, *args, name=None):
    """A daemon thread running target(*args) on the cores no reactor uses."""
    cores = worker_cores()

    def run():
        os.sched_setaffinity(0, cores)
        target(*args)
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
