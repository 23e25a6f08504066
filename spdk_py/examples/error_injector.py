"""Example module: fail a chosen share of reads or writes in a block range. ::

    bdev_error_injector_create {base_bdev_name, name}
    bdev_error_injector_set {name, io_type: "read"|"write", share: 0.0-1.0,
                             lba_start, lba_end}

Python hooks only reads and writes (submit_read, submit_write): an I/O a rule
picks completes failed, the others go on to the base. Every other I/O type
never enters Python: C forwards it.
"""

from __future__ import annotations

import random
from typing import Any, Optional

from spdk_py import bdev_io, thread
from spdk_py.bdev import IoStatus, IoType
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import create_from_rpc, existing


class ErrorInjector(PassthruVbdev):
    product_name = "error injector"
    create_method = "bdev_error_injector_create"

    def __init__(self, name: str, mode: str) -> None:
        super().__init__(name, mode)
        self.rules: dict[int, tuple[float, int, int]] = {}  # io_type -> (share, start, end)
        # Per SPDK thread (hooks run on every reactor at once): failures
        # injected by I/O type name, and the draws.
        self._injected: thread.Local[dict[str, int]] = thread.local(dict)
        self._random = thread.local(lambda: random.Random(0))

    @property
    def injected(self) -> dict[str, int]:
        """Failures injected so far, by I/O type, on every thread."""
        total: dict[str, int] = {}
        for counts in self._injected.values():
            for name, n in list(counts.items()):
                total[name] = total.get(name, 0) + n
        return total

    def submit_read(self, io: int) -> Optional[IoStatus]:
        return self._inject(io, IoType.READ)

    def submit_write(self, io: int) -> Optional[IoStatus]:
        return self._inject(io, IoType.WRITE)

    def _inject(self, io: int, io_type: IoType) -> Optional[IoStatus]:
        rule = self.rules.get(io_type)
        if rule is not None:
            share, start, end = rule
            if start <= bdev_io.offset_blocks(io) < end and self._random.get().random() < share:
                name = io_type.name.lower()
                injected = self._injected.get()
                injected[name] = injected.get(name, 0) + 1
                return IoStatus.FAILED
        return None  # on to the base

    def config_params(self) -> dict[str, Any]:
        params = super().config_params()
        del params["mode"], params["policy"], params["stats"]
        return params


@rpc_method("bdev_error_injector_create", params={"base_bdev_name": str, "name": str},
            optional={"uuid": str})
def bdev_error_injector_create(params: dict) -> str:
    """Create an error injector bdev on a base bdev."""
    return create_from_rpc(params, ErrorInjector)


@rpc_method("bdev_error_injector_set", params={"name": str, "io_type": str, "share": float},
            optional={"lba_start": int, "lba_end": int})
def bdev_error_injector_set(params: dict) -> bool:
    """Fail this share of the I/Os of one type (read or write) in [lba_start, lba_end)."""
    node = existing(params["name"], ErrorInjector, "error injector")
    if params["io_type"] not in ("read", "write"):
        raise RpcError(INVALID_PARAMS, "io_type must be read or write")
    if not 0.0 <= params["share"] <= 1.0:
        raise RpcError(INVALID_PARAMS, "share must be between 0 and 1")
    end = params.get("lba_end", 2 ** 64)
    node.rules[IoType[params["io_type"].upper()]] = (params["share"],
                                                     params.get("lba_start", 0), end)
    return True


@rpc_method("bdev_error_injector_get_counts", params={"name": str})
def bdev_error_injector_get_counts(params: dict) -> dict[str, int]:
    """Failures injected so far, by I/O type."""
    return existing(params["name"], ErrorInjector, "error injector").injected
