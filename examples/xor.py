"""spdk_py.examples.xor, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import xor

sys.modules[__name__] = xor
