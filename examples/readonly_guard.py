"""spdk_py.examples.readonly_guard, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import readonly_guard

sys.modules[__name__] = readonly_guard
