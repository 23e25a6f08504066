"""The rpc.py plugin's options: each parameter's type as rpc.py's own take it."""

import argparse

from spdk_py import jsonrpc
from spdk_py._runtime import rpc
from spdk_py.tools import rpc_plugin


def parse(argv):
    parser = argparse.ArgumentParser()
    method = rpc.Method("example_create", None, {"name": str, "bases": list},
                            {"params": dict, "force": bool}, jsonrpc.RUNTIME, False, "",
                            {"name": "-n", "bases": "-b"})
    rpc_plugin._add_command(parser.add_subparsers(), method)
    return parser.parse_args(argv)


def test_a_list_is_space_or_comma_separated_and_a_dict_is_json():
    args = parse(["example_create", "-n", "M0", "-b", "Malloc0 Malloc1,Malloc2",
                  "--params", '{"k": 1}', "--force", "yes"])
    assert args.name == "M0" and args.bases == ["Malloc0", "Malloc1", "Malloc2"]
    assert args.params == {"k": 1} and args.force is True
