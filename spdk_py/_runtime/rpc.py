"""The JSON-RPC plumbing: methods defined in Python, served by the target.

The shim registers each method's name with SPDK (64 slots: SPDK hands a
handler no method name) and hands every request here as its method name,
the request, and its params as JSON text. call() decodes the params against
the method's declaration and answers every request exactly once: with what
the handler returns, what it raises, or, for a deferred handler or an async
one, later. spdk_py.jsonrpc is what module authors use.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import traceback
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from spdk_py._runtime import log, tasks
from spdk_py._runtime.binding import binding
from spdk_py._runtime.errors import RpcError

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# spdk/rpc.h's states: a method allowed while the app starts, or once it runs.
STARTUP = 0x1
RUNTIME = 0x2


class Method:
    def __init__(self, name: str, func: Callable, params: dict, optional: dict,
                 state_mask: int, deferred: bool, doc: str, short: dict) -> None:
        self.short = short
        self.name = name
        self.func = func
        self.params = params
        self.optional = optional
        self.state_mask = state_mask
        self.deferred = deferred
        self.doc = doc


# Every method defined, by name, in definition order.
methods: dict[str, Method] = {}
# Where definitions go while a reload runs new code: aside, until the swap.
_staging: Optional[dict[str, Method]] = None


@contextlib.contextmanager
def staged() -> Iterator[dict[str, Method]]:
    """Methods defined inside go into the dict yielded, not into methods."""
    global _staging
    saved, _staging = _staging, {}
    try:
        yield _staging
    finally:
        _staging = saved


def define(name: str, func: Callable, params: Optional[Mapping], optional: Optional[Mapping],
           state_mask: int, deferred: bool, short: Optional[Mapping]) -> None:
    target = methods if _staging is None else _staging
    if name in target:
        raise ValueError("RPC method %s defined twice" % name)
    target[name] = Method(name, func, dict(params or {}), dict(optional or {}), state_mask,
                          deferred, (func.__doc__ or "").strip(), dict(short or {}))


def _type_name(t: type) -> str:
    return {str: "a string", int: "an integer", bool: "a boolean", float: "a number",
            list: "an array", dict: "an object"}.get(t, t.__name__)


def decode(method: Method, params: Any) -> dict:
    """Check params against the method's declaration; return them as a dict."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "%s: params must be an object" % method.name)
    missing = [k for k in method.params if k not in params]
    if missing:
        raise RpcError(INVALID_PARAMS, "%s: missing required parameter(s): %s"
                       % (method.name, ", ".join(missing)))
    known = {**method.params, **method.optional}
    extra = [k for k in params if k not in known]
    if extra:
        raise RpcError(INVALID_PARAMS, "%s: unknown parameter(s): %s (accepted: %s)"
                       % (method.name, ", ".join(extra), ", ".join(known)))
    for key, value in params.items():
        want = known[key]
        # bool is an int in Python, never in JSON; a JSON number may be written 1 for 1.0.
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            params[key] = value = float(value)
        if not isinstance(value, want) or (want in (int, float) and isinstance(value, bool)):
            raise RpcError(INVALID_PARAMS, "%s: parameter %s must be %s"
                           % (method.name, key, _type_name(want)))
    return params


class Request:
    """One JSON-RPC request from the target; answered exactly once."""

    def __init__(self, raw: Any, method: str) -> None:
        self._raw = raw
        self.method = method
        self.answered = False

    def _answer(self) -> None:
        if self.answered:
            raise RuntimeError("%s: request answered twice" % self.method)
        self.answered = True

    def result(self, value: Any) -> None:
        text = json.dumps(value).encode()
        self._answer()
        binding.lib.spdk_py_rpc_send_result(self._raw, text, len(text))

    def error(self, code: int, message: str) -> None:
        self._answer()
        binding.lib.spdk_jsonrpc_send_error_response(self._raw, code, message.encode())


def defined_by(modules: Iterable[str]) -> list[tuple[str, int]]:
    """(name, state_mask) of every method the modules define, by importing them."""
    from spdk_py._runtime import plugins

    for name in modules:
        plugins.import_plugin(name)
    return [(m.name, m.state_mask) for m in methods.values()]


def register_all(which: Optional[dict[str, Method]] = None) -> None:
    """Route every defined method (or those of which) to Python; the shim
    registered most at load."""
    _, lib = binding.require()
    for method in (methods if which is None else which).values():
        rc = lib.spdk_py_rpc_register(method.name.encode(), method.state_mask)
        if rc < 0:
            raise RuntimeError("cannot register RPC %s: %s" % (method.name, os.strerror(-rc)))


def call(name: str, raw: Any, params_text: Optional[str]) -> None:
    """Run the method; always answers the request (now or, if deferred, later)."""
    request = Request(raw, name)
    method = methods.get(name)
    if method is None:
        request.error(METHOD_NOT_FOUND, "%s: no Python plugin loaded defines this method" % name)
        return
    try:
        params = decode(method, json.loads(params_text) if params_text else None)
        if method.deferred:
            method.func(request, params)
            return
        result = method.func(params)
        if inspect.iscoroutine(result):
            # An async def handler runs as a task; its return value is the answer.
            task = tasks.spawn(result, name=method.name)
            task.add_done_callback(lambda t: _answer_task(request, method, t))
        else:
            request.result(result)
    except Exception as exc:
        _answer_exception(request, method, exc)


def _answer_task(request: Request, method: Method, task: tasks.Future) -> None:
    exc = task.exception()
    if exc is None:
        request.result(task.result())
    else:
        _answer_exception(request, method, exc)


def _answer_exception(request: Request, method: Method, exc: BaseException) -> None:
    if request.answered:
        log.error("%s raised after answering: %r" % (method.name, exc))
        return
    if isinstance(exc, RpcError):
        request.error(exc.code, exc.message)
    else:
        log.error("%s failed: %s" % (method.name, "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))))
        request.error(INTERNAL_ERROR, "%s: %s: %s" % (method.name, type(exc).__name__, exc))


def answer_when_done(request: Request, future: tasks.Future,
                     error: Callable[[int], str]) -> None:
    """Answer request when a C call's Future is done: True for rc 0, else
    the negative errno with error(rc) as the message."""
    def done(f: tasks.Future) -> None:
        rc = f.result()
        if rc:
            request.error(-abs(rc), error(rc))
        else:
            request.result(True)
    future.add_done_callback(done)
