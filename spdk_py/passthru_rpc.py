"""The passthru's RPCs: the reference example's (construct_ext_passthru_bdev,
delete_ext_passthru_bdev) and spdk_py's (bdev_python_passthru_*), which act
on any Python vbdev (every module built on spdk_py.vbdev)."""

from __future__ import annotations

import errno
from typing import Any

from spdk_py.bdev import IoType
from spdk_py.bdev_io import ticks_hz
from spdk_py.jsonrpc import INVALID_PARAMS, Request, RpcError, rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import (check_mode, create_from_rpc, decode_policy, delete_from_rpc,
                               existing)

__all__ = ["rpc_construct_ext_passthru_bdev", "rpc_delete_ext_passthru_bdev",
           "rpc_bdev_python_passthru_create", "rpc_bdev_python_passthru_delete",
           "rpc_bdev_python_passthru_set_mode", "rpc_bdev_python_passthru_set_policy",
           "rpc_bdev_python_passthru_get_stats"]

_CREATE_PARAMS = {"base_bdev_name": str, "name": str}
# rpc.py flags, as SPDK's own passthru commands spell them.
_SHORT = {"base_bdev_name": "-b", "name": "-p", "mode": "-m", "uuid": "-u"}


@rpc_method("construct_ext_passthru_bdev", params=_CREATE_PARAMS, short=_SHORT)
def rpc_construct_ext_passthru_bdev(params: dict) -> str:
    """Create a passthru bdev on a base bdev (the reference example's RPC)."""
    return create_from_rpc(params, PassthruVbdev)


@rpc_method("delete_ext_passthru_bdev", params={"name": str}, deferred=True, short=_SHORT)
def rpc_delete_ext_passthru_bdev(request: Request, params: dict) -> None:
    """Delete a passthru bdev (the reference example's RPC)."""
    delete_from_rpc(request, params)


@rpc_method("bdev_python_passthru_create", params=_CREATE_PARAMS,
            optional={"mode": str, "policy": dict, "stats": bool, "uuid": str}, short=_SHORT)
def rpc_bdev_python_passthru_create(params: dict) -> str:
    """Create a Python passthru bdev on a base bdev; mode: python (default) or hybrid.

    policy (hybrid): {"io_types": [...], "lba_start": N, "lba_end": M} names the I/Os
    that go to Python; the rest are forwarded in C. stats: false turns the
    per-I/O-type counters off (they are on by default). uuid: the vbdev's UUID
    (default: derived from the base's, the same at every start).
    """
    return create_from_rpc(params, PassthruVbdev)


@rpc_method("bdev_python_passthru_delete", params={"name": str}, deferred=True,
            short=_SHORT)
def rpc_bdev_python_passthru_delete(request: Request, params: dict) -> None:
    """Delete a Python passthru bdev."""
    delete_from_rpc(request, params)


@rpc_method("bdev_python_passthru_set_mode", params={"name": str, "mode": str}, short=_SHORT)
def rpc_bdev_python_passthru_set_mode(params: dict) -> bool:
    """Switch a Python passthru bdev between python and hybrid, live.

    Each I/O keeps the path it was submitted on, so nothing needs to stop.
    """
    check_mode(params["mode"])
    vb = existing(params["name"])
    if params["mode"] not in vb.modes:
        raise RpcError(INVALID_PARAMS, "%s (%s) works in %s mode only"
                       % (vb.name, vb.product_name, " or ".join(vb.modes)))
    vb.mode = params["mode"]
    return True


@rpc_method("bdev_python_passthru_set_policy", params={"name": str},
            optional={"io_types": list, "lba_start": int, "lba_end": int}, short=_SHORT)
def rpc_bdev_python_passthru_set_policy(params: dict) -> bool:
    """Choose the I/Os a hybrid Python passthru bdev sends to Python (types, block range)."""
    name = params.pop("name")
    policy = decode_policy(params)
    existing(name).apply_policy(policy)
    return True


@rpc_method("bdev_python_passthru_get_stats", params={"name": str}, deferred=True,
            short=_SHORT)
def rpc_bdev_python_passthru_get_stats(request: Request, params: dict) -> None:
    """Per-I/O-type counters of a Python passthru bdev, summed over its channels."""
    vb = existing(params["name"])
    tick_rate = ticks_hz()

    def collected(future: Any) -> None:
        exc = future.exception()
        if isinstance(exc, OSError) and exc.errno == errno.ENODEV:
            request.error(-errno.ENODEV, "%s is being deleted" % vb.name)
            return
        if exc is not None:
            request.error(-abs(getattr(exc, "errno", 0) or errno.EIO),
                          "collecting stats: %s" % exc)
            return
        stats = future.result()
        for stat in stats.values():
            stat["avg_latency_us"] = (stat["latency_ticks"] * 1e6 / tick_rate
                                      / max(stat["latency_samples"], 1))
        for io_type, seen in enumerate(vb.python_ios):
            if seen:
                stats.setdefault(IoType(io_type).name.lower(), {})["python_ios"] = seen
        request.result({"name": vb.name, "mode": vb.mode, "policy": vb.policy.to_json(),
                        "tick_rate": tick_rate, "io_types": stats})
    vb.collect_stats().add_done_callback(collected)
