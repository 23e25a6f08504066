"""Callbacks waiting for C to finish something: C hands a key back through
spdk_py_done(key, rc), on the thread that finished it (an SPDK thread)."""

import itertools

from spdk_py._runtime.binding import binding

_waiters = {}
_keys = itertools.count(1)


def waiter(done):
    """A cb_arg for C that makes spdk_py_done(cb_arg, rc) call done(rc), once."""
    key = next(_keys)
    _waiters[key] = done
    return binding.ffi.cast("void *", key)


def pending():
    return list(_waiters)


def finished(key, rc):
    done = _waiters.pop(key, None)
    if done is not None:
        done(rc)


def cancel(cb_arg):
    """C refused the call it was for: it will not come back."""
    _waiters.pop(int(binding.ffi.cast("uintptr_t", cb_arg)), None)
