"""JSON-RPC methods written in Python, served by the target beside SPDK's own. ::

    from spdk_py.jsonrpc import RpcError, rpc_method, check_bdev_name

    @rpc_method("bdev_example_create", params={"name": str}, optional={"size": int})
    def create(params):
        check_bdev_name("name", params["name"])
        return params["name"]

A handler gets its params as a dict, already checked against the
declaration (a missing, unknown or mistyped param is answered -32602 with a
message naming it), and returns the result, or raises RpcError(code,
message). An ``async def`` handler runs as a task on the app thread and
answers with what it returns. A handler declared ``deferred=True`` gets the
Request first and answers later, once, with ``request.result(value)`` or
``request.error(code, message)``. Whatever happens, every request is answered
exactly once; an exception other than RpcError answers -32603 and is logged.

SPDK's own rpc.py offers every method as a command
(``rpc.py --plugin spdk_py.tools.rpc_plugin <method> --param ...``), with the
one-letter flags ``short`` maps params to.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from spdk_py._runtime import rpc
from spdk_py._runtime.errors import RpcError
from spdk_py._runtime.rpc import (INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, RUNTIME,
                                  STARTUP, Request)

__all__ = ["rpc_method", "RpcError", "Request", "METHOD_NOT_FOUND", "INVALID_PARAMS",
           "INTERNAL_ERROR", "STARTUP", "RUNTIME", "check_bdev_name", "check_uuid",
           "check_choice", "NAME_MAX"]

Handler = TypeVar("Handler", bound=Callable[..., Any])

# The longest bdev name SPDK takes, in bytes.
NAME_MAX = 255


def rpc_method(name: str, params: Optional[Mapping[str, type]] = None,
               optional: Optional[Mapping[str, type]] = None, state_mask: int = RUNTIME,
               deferred: bool = False,
               short: Optional[Mapping[str, str]] = None) -> Callable[[Handler], Handler]:
    """Define JSON-RPC method name: params (required) and optional map each
    param to its type (str, int, float, bool, list, dict); state_mask says when
    it may run (RUNTIME, STARTUP, or both); short maps params to rpc.py's
    one-letter flags."""
    def define(func: Handler) -> Handler:
        rpc.define(name, func, params, optional, state_mask, deferred, short)
        return func
    return define


def check_bdev_name(key: str, value: str) -> None:
    """RpcError (-32602) unless value is a name SPDK takes for a bdev."""
    if not value:
        raise RpcError(INVALID_PARAMS, "%s must not be empty" % key)
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > NAME_MAX:
        raise RpcError(INVALID_PARAMS, "%s is too long (%d bytes, at most %d)"
                       % (key, size, NAME_MAX))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise RpcError(INVALID_PARAMS, "%s must not contain control characters" % key)


def check_uuid(text: Optional[str]) -> Optional[str]:
    """A uuid param in SPDK's spelling (lower case), None if not given; RpcError if not one."""
    if text is None:
        return None
    try:
        return str(uuid_module.UUID(text))
    except ValueError:
        raise RpcError(INVALID_PARAMS, "uuid %r is not a UUID" % text) from None


def check_choice(key: str, value: str, choices: Sequence[str]) -> str:
    """value, or RpcError (-32602) naming the choices."""
    if value not in choices:
        raise RpcError(INVALID_PARAMS, "%s must be %s, not %r"
                       % (key, " or ".join(choices), value))
    return value
