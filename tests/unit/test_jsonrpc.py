"""The JSON-RPC method layer, without SPDK."""

import pytest

from spdk_py import jsonrpc
from spdk_py._runtime import rpc
from spdk_py._runtime.rpc import Method, decode
from spdk_py.jsonrpc import RpcError


def method(**kw):
    return Method("m", None, kw.get("params", {"name": str}), kw.get("optional", {"n": int}),
                  jsonrpc.RUNTIME, False, "", {})


@pytest.mark.parametrize("params,fragment", [
    (None, "missing required parameter(s): name"),
    ([], "params must be an object"),
    ({"name": 1}, "parameter name must be a string"),
    ({"name": "a", "n": True}, "parameter n must be an integer"),
    ({"name": "a", "x": 1}, "unknown parameter(s): x"),
])
def test_decode_rejects(params, fragment):
    with pytest.raises(RpcError) as err:
        decode(method(), params)
    assert err.value.code == jsonrpc.INVALID_PARAMS
    assert fragment in err.value.message


def test_decode_accepts_required_and_optional():
    assert decode(method(), {"name": "a", "n": 3}) == {"name": "a", "n": 3}


def test_errno_errors_follow_spdk_convention():
    err = RpcError.from_errno(-17, "PT0")
    assert err.code == -17
    assert err.message == "File exists: PT0"


def test_passthru_methods_are_defined():
    names = dict(rpc.defined_by(["spdk_py.passthru"]))
    assert {"construct_ext_passthru_bdev", "delete_ext_passthru_bdev",
            "bdev_python_passthru_create", "bdev_python_passthru_delete"} <= set(names)
    assert set(names.values()) == {jsonrpc.RUNTIME}


def test_staged_methods_stay_aside():
    with rpc.staged() as staged:
        @jsonrpc.rpc_method("unit_staged_method")
        def handler(params):
            return 1
    assert "unit_staged_method" in staged
    assert "unit_staged_method" not in rpc.methods
