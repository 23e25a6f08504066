"""What spdk_py marks as read by every reactor: on a free-threaded CPython a
deferred reference count (the object outlives its last reference until the
cyclic collector runs) or an immortal cffi type; with a GIL, nothing."""

import gc
import sys
import types
import weakref

import cffi

from spdk_py._runtime import shared

FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()


class Thing:
    pass


def survives_its_last_reference(make_and_mark):
    """Whether what make_and_mark() marked is still there once the last
    reference is gone, and gone after a collection."""
    gc.collect()
    ref = make_and_mark()
    alive_before_collect = ref() is not None
    gc.collect()
    assert ref() is None  # the collector frees it either way
    return alive_before_collect


def test_an_object_read_by_every_reactor():
    def make():
        thing = Thing()
        assert shared.read_by_every_reactor(thing) is thing
        return weakref.ref(thing)
    assert survives_its_last_reference(make) == FREE_THREADED


def test_a_functions_closure_and_globals():
    def make():
        held, named = Thing(), Thing()

        def hook():
            return held, named_global
        namespace = {"named_global": named}
        hook = types.FunctionType(hook.__code__, namespace, "hook", None, hook.__closure__)
        assert shared.read_by_every_reactor_function(hook) is hook
        del namespace["named_global"]
        return weakref.ref(held), weakref.ref(named)

    refs = make()
    alive = [ref() is not None for ref in refs]
    gc.collect()
    assert alive == [FREE_THREADED, FREE_THREADED] and [ref() for ref in refs] == [None, None]


def test_a_classs_methods_and_attributes_once():
    class Disk:
        limit = Thing()

        def read(self):
            return self.limit
    shared.read_by_every_reactor_code(Disk)
    ref = weakref.ref(Disk.limit)
    del Disk.limit
    assert (ref() is not None) == FREE_THREADED
    gc.collect()
    assert ref() is None
    shared.read_by_every_reactor_code(Disk)  # walked once: nothing more to do
    assert Disk in shared._walked or not FREE_THREADED


def test_callback_argument_types_immortal():
    ffi = cffi.FFI()
    fn = ffi.cast("int (*)(uint32_t *, struct { int a; } *)", 0)
    lib = types.SimpleNamespace(python_batch=fn)
    shared.callback_types_immortal(ffi, lib, ["python_batch"])
    arg = ffi.typeof(fn).args[0]
    immortal = getattr(sys, "_is_immortal", lambda obj: False)
    assert immortal(arg) == FREE_THREADED and immortal(arg.item) == FREE_THREADED
    for _ in range(3):
        ffi.new("uint32_t *")  # a cdata of that type made and freed: nothing breaks
