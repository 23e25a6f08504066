"""What C finishes later. C takes a cb_arg and hands it back through
python_done(cb_arg, rc), on the SPDK thread that finished the work; call()
turns any such C call into a Future, one helper for all of them (spdk-rs's
cb_arg and done_errno_cb), so no wrapper repeats it.

    future = completion.call(lib.spdk_py_bdev_desc_close, desc_ptr)
    future.add_done_callback(lambda f: ...)     # f.result() is C's rc
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

from spdk_py._runtime.binding import binding
from spdk_py._runtime.errors import BdevError
from spdk_py._runtime.tasks import Future, new_future

_waiters: dict[int, Callable[[int], Any]] = {}
_keys = itertools.count(1)


def waiter(done: Callable[[int], Any]) -> Any:
    """A cb_arg for C that makes python_done(cb_arg, rc) call done(rc), once."""
    key = next(_keys)
    _waiters[key] = done
    return binding.ffi.cast("void *", key)


def finished(cb_arg: Any, rc: int) -> None:
    """C's python_done(cb_arg, rc)."""
    done = _waiters.pop(int(binding.ffi.cast("uintptr_t", cb_arg)), None)
    if done is not None:
        done(rc)


def cancel(cb_arg: Any) -> None:
    """C refused the call it was for: it will not come back."""
    _waiters.pop(int(binding.ffi.cast("uintptr_t", cb_arg)), None)


def pending() -> int:
    """How many completions C still owes."""
    return len(_waiters)


def call(c_function: Callable[..., Any], *args: Any) -> Future:
    """c_function(*args, cb_arg): a Future done with the rc C hands back later,
    or at once with the call's own nonzero return (C then owes nothing)."""
    future = new_future()
    cb_arg = waiter(future.set_result)
    rc = c_function(*args, cb_arg)
    if rc:
        cancel(cb_arg)
        future.set_result(rc)
    return future


def call_ok(what: str, c_function: Callable[..., Any], *args: Any) -> Future:
    """The same, done with None for rc 0, or failed with BdevError(-rc, what)."""
    future = new_future()

    def done(f: Future) -> None:
        rc = f.result()
        if rc:
            future.set_exception(BdevError(-rc, what))
        else:
            future.set_result(None)
    call(c_function, *args).add_done_callback(done)
    return future
