"""spdk_py.examples.kv_policy, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import kv_policy

sys.modules[__name__] = kv_policy
