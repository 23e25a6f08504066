"""No exception from Python reaches cffi: every callback C calls is guarded.

The callbacks are defined on a stand-in ffi whose every operation raises
(and a lib with nothing in it), as a shim loaded into the wrong SPDK would
feed them garbage; each must log, return its error value, and raise nothing.
"""

import inspect

import pytest

from spdk_py._runtime import binding as binding_module, host


class Raising:
    def __getattr__(self, name):
        raise AttributeError("no %s in this lib" % name)


class FakeFfi(Raising):
    NULL = None

    def __init__(self):
        self.externs = {}

    def def_extern(self, **options):
        def define(func):
            self.externs[func.__name__] = (func, options)
            return func
        return define

    def from_handle(self, handle):
        raise RuntimeError("not a handle")

    def string(self, ptr):
        return b"\xff\xfe garbage"

    def unpack(self, ptr, length):
        return b"\xff"

    def cast(self, ctype, value):
        raise TypeError("garbage")


@pytest.fixture
def externs(monkeypatch):
    ffi = FakeFfi()
    monkeypatch.setattr(host, "binding", binding_module.Binding())
    monkeypatch.setattr(host.bdev, "check_against", lambda lib: None)
    monkeypatch.setattr(host, "plugins", [])
    monkeypatch.setattr(host, "load_plugins", lambda: 1 / 0)
    host.install(ffi, Raising())
    return ffi.externs


def test_every_callback_is_guarded(externs, capsys):
    # The shim's header declares these; each must be defined here.
    assert {"python_start", "python_examine", "python_config_json", "python_destruct",
            "python_submit_batch", "python_complete_batch", "python_io_type_supported",
            "python_dump_info_json", "python_base_event", "python_released",
            "python_done", "python_rpc_call", "python_module_fini",
            "python_disk_batch"} <= set(externs)
    for name, (func, options) in externs.items():
        args = [object()] * len(inspect.signature(func).parameters)
        result = func(*args)  # raises nothing
        assert result == options.get("error"), (name, result, options)
    err = capsys.readouterr().err
    assert "python_examine raised" in err and "UnicodeDecodeError" in err
    assert "python_dump_info_json raised" in err and "not a handle" in err
