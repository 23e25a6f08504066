"""JSON-RPC methods written in Python and served by the target.

    @rpc_method("bdev_example_create", params={"name": str}, optional={"size": int})
    def create(params):
        return params["name"]

A handler returns the result, or raises RpcError(code, message). A handler
declared with deferred=True gets the Request as its first argument and answers
later with request.result(...) or request.error(...). An `async def` handler
runs as a task (spdk_py.coroutine) on the app thread and answers with what it
returns. Whatever happens, every request is answered exactly once.
"""

import contextlib
import importlib
import inspect
import json
import os
import traceback

from spdk_py import coroutine, log
from spdk_py._runtime.binding import binding

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

STARTUP = 0x1
RUNTIME = 0x2


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def from_errno(cls, rc, detail):
        """SPDK's convention: the code is the negative errno, then a readable message."""
        err = abs(rc)
        return cls(-err, "%s: %s" % (os.strerror(err), detail))


class Method:
    def __init__(self, name, func, params, optional, state_mask, deferred, doc, short):
        self.short = short
        self.name = name
        self.func = func
        self.params = params
        self.optional = optional
        self.state_mask = state_mask
        self.deferred = deferred
        self.doc = doc


# Every method defined with @rpc_method, by name, in definition order.
methods = {}
# Where @rpc_method puts methods while a reload runs new code: aside, until the swap.
_staging = None


@contextlib.contextmanager
def staged():
    """Methods defined inside go into the dict yielded, not into methods."""
    global _staging
    saved, _staging = _staging, {}
    try:
        yield _staging
    finally:
        _staging = saved


def rpc_method(name, params=None, optional=None, state_mask=RUNTIME, deferred=False,
               short=None):
    """Define a JSON-RPC method. short maps params to rpc.py's one-letter flags."""
    def register(func):
        target = methods if _staging is None else _staging
        if name in target:
            raise ValueError("RPC method %s defined twice" % name)
        target[name] = Method(name, func, dict(params or {}), dict(optional or {}),
                               state_mask, deferred, (func.__doc__ or "").strip(),
                               dict(short or {}))
        return func
    return register


def _type_name(t):
    return {str: "a string", int: "an integer", bool: "a boolean", float: "a number",
            list: "an array", dict: "an object"}.get(t, t.__name__)


def decode(method, params):
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

    def __init__(self, raw, method):
        self._raw = raw
        self.method = method
        self.answered = False

    def _answer(self):
        if self.answered:
            raise RuntimeError("%s: request answered twice" % self.method)
        self.answered = True

    def result(self, value):
        text = json.dumps(value).encode()
        self._answer()
        binding.lib.spdk_py_rpc_send_result(self._raw, text, len(text))

    def error(self, code, message):
        self._answer()
        binding.lib.spdk_jsonrpc_send_error_response(self._raw, code, message.encode())


def defined_by(plugins):
    """(name, state_mask) of every method the plugin modules define, by importing them."""
    for name in plugins:
        importlib.import_module(name)
    return [(m.name, m.state_mask) for m in methods.values()]


def register_all(which=None):
    """Route every defined method (or those of which) to Python; the shim
    registered most at load."""
    _, lib = binding.require()
    for method in (methods if which is None else which).values():
        rc = lib.spdk_py_rpc_register(method.name.encode(), method.state_mask)
        if rc < 0:
            raise RuntimeError("cannot register RPC %s: %s" % (method.name, os.strerror(-rc)))


def call(name, raw, params_text):
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
            task = coroutine.spawn(result, name=method.name)
            task.add_done_callback(lambda t: _answer_task(request, method, t))
        else:
            request.result(result)
    except Exception as exc:
        _answer_exception(request, method, exc)


def _answer_task(request, method, task):
    exc = task.exception()
    if exc is None:
        request.result(task.result())
    else:
        _answer_exception(request, method, exc)


def _answer_exception(request, method, exc):
    if request.answered:
        log.error("%s raised after answering: %r" % (method.name, exc))
        return
    if isinstance(exc, RpcError):
        request.error(exc.code, exc.message)
    else:
        log.error("%s failed: %s" % (method.name, "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))))
        request.error(INTERNAL_ERROR, "%s: %s: %s" % (method.name, type(exc).__name__, exc))

