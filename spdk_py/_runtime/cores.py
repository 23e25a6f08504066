"""Which cores SPDK's reactors poll, and which are left for other threads."""

from __future__ import annotations

import os

from spdk_py._runtime.binding import binding


def reactor_cores() -> list[int]:
    """The cores SPDK's reactors run on."""
    lib = binding.require()[1]
    cores, core = [], lib.spdk_env_get_first_core()
    while core != 0xFFFFFFFF:  # UINT32_MAX ends SPDK's iteration
        cores.append(core)
        core = lib.spdk_env_get_next_core(core)
    return cores


def worker_cores() -> set[int]:
    """The cores no reactor polls; every core if the reactors have them all."""
    online = set(range(os.cpu_count() or 1))
    return (online - set(reactor_cores())) or online
