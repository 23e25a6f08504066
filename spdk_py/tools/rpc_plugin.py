"""The rpc.py plugin: SPDK's own `scripts/rpc.py --plugin spdk_py.tools.rpc_plugin`.

Every JSON-RPC method the Python plugins define becomes an rpc.py command
with one option per parameter, so rpc.py and the target never disagree.
Plugin modules other than the built-in ones are named in SPDK_PY_PLUGINS, as
for the target.
"""

import json

from spdk_py._runtime import introspect, plugins, reload, rpc  # noqa: F401 (their RPCs)


def _option_type(t):
    if t is bool:
        return lambda text: text.lower() in ("1", "true", "yes", "on")
    if t is list:  # as rpc.py's own: -b "Malloc0 Malloc1" (commas too)
        return lambda text: text.replace(",", " ").split()
    if t is dict:
        return json.loads
    return t


def _add_command(subparsers, method):
    p = subparsers.add_parser(method.name, help=method.doc.splitlines()[0] if method.doc else None,
                              description=method.doc or None)
    for key, t in list(method.params.items()) + list(method.optional.items()):
        flags = [method.short[key]] if key in method.short else []
        flags.append("--" + key.replace("_", "-"))
        p.add_argument(*flags, dest=key, type=_option_type(t), required=key in method.params,
                       help="%s (%s)" % (key, "required" if key in method.params else "optional"))

    def run(args):
        params = {k: getattr(args, k) for k in list(method.params) + list(method.optional)
                  if getattr(args, k) is not None}
        result = args.client.call(method.name, params)
        print(json.dumps(result, indent=2))

    p.set_defaults(func=run)


def spdk_rpc_plugin_initialize(subparsers):
    rpc.defined_by([*plugins.configured(), *plugins.SERVICES])
    for method in rpc.methods.values():
        _add_command(subparsers, method)
