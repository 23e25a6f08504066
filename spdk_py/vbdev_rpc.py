"""What every vbdev module's RPCs share: decoding a create's common params
(base_bdev_name, name, mode, policy, stats, uuid), creating, deleting, and
finding a vbdev by name, each with SPDK's errors."""

from __future__ import annotations

import errno
from typing import Any, Callable, Optional, Union

from spdk_py import vbdev
from spdk_py.jsonrpc import INVALID_PARAMS, Request, RpcError, check_bdev_name, check_uuid
from spdk_py.vbdev import MODES, Policy, Vbdev

__all__ = ["create_from_rpc", "delete_from_rpc", "existing", "decode_policy", "check_mode"]


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise RpcError(INVALID_PARAMS, "unknown mode %r: must be one of %s"
                       % (mode, ", ".join(MODES)))


def decode_policy(params: Any) -> Policy:
    """A policy param ({io_types, lba_start, lba_end}), or RpcError naming the problem."""
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "policy must be an object")
    extra = set(params) - {"io_types", "lba_start", "lba_end"}
    if extra:
        raise RpcError(INVALID_PARAMS, "unknown policy field(s): %s (accepted: "
                       "io_types, lba_start, lba_end)" % ", ".join(sorted(extra)))
    io_types = params.get("io_types", [])
    lba = [params.get("lba_start", 0), params.get("lba_end", 0)]
    if not (isinstance(io_types, list) and all(isinstance(t, str) for t in io_types)):
        raise RpcError(INVALID_PARAMS, "policy.io_types must be an array of strings")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in lba):
        raise RpcError(INVALID_PARAMS, "policy.lba_start/lba_end must be integers >= 0")
    try:
        return Policy(io_types, *lba)
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, "policy: %s" % exc) from None


def create_from_rpc(params: dict, factory: Callable[[str, str], Vbdev]) -> str:
    """A create RPC's body, for the passthru's and for modules built on it:
    the common params decoded and checked, the vbdev made by factory(name,
    mode); the name, or RpcError."""
    mode = params.get("mode", "python")
    check_mode(mode)
    for key in ("name", "base_bdev_name"):
        check_bdev_name(key, params[key])
    policy = decode_policy(params.get("policy", {}))
    try:
        vbdev.create(params["base_bdev_name"], params["name"], factory, mode, policy,
                     params.get("stats", True), check_uuid(params.get("uuid")))
    except OSError as exc:
        detail = "could not create passthru bdev %s on %s" % (params["name"],
                                                             params["base_bdev_name"])
        if exc.errno == errno.EPERM:
            detail += ": the base bdev is already claimed by another module"
        raise RpcError.from_errno(-(exc.errno or errno.EINVAL), detail) from None
    return params["name"]


def existing(name: str, cls: Union[type, tuple[type, ...], None] = None,
             kind: str = "python passthru") -> Any:
    """The vbdev of that name (of class cls), or the RPC error -ENODEV."""
    found = vbdev.find(name)
    if found is None or not isinstance(found, cls or Vbdev):
        raise RpcError.from_errno(-errno.ENODEV, "no %s bdev named %s" % (kind, name))
    return found


def delete_from_rpc(request: Request, params: dict,
                    kind: Optional[str] = "python passthru") -> None:
    """A delete RPC's body (deferred: answers when the bdev is gone)."""
    name = params["name"]

    def done(future: Any) -> None:
        rc = future.result()
        if rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "no %s bdev named %s"
                                                        % (kind, name)).message)
        else:
            request.result(True)
    vbdev.delete(name).add_done_callback(done)
