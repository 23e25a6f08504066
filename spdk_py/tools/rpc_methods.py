"""The RPC methods SPDK_PY_PLUGINS' modules define, as the shim registers them
when it is loaded ("name:state_mask,..."): what the launcher passes in
SPDK_PY_RPC_METHODS, and what the shim asks of this module for an app started
by hand (LD_PRELOAD and SPDK_PY_PLUGINS alone).

    SPDK_PY_PLUGINS=spdk_py.passthru,mymod python -m spdk_py.tools.rpc_methods
"""

import os
import sys

from spdk_py._runtime import plugins, rpc


def listed(plugin_names: str) -> str:
    return ",".join("%s:%d" % m for m in rpc.defined_by(plugins.split(plugin_names)))


if __name__ == "__main__":
    sys.stdout.write(listed(os.environ.get("SPDK_PY_PLUGINS", "")))
