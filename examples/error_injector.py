"""spdk_py.examples.error_injector, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import error_injector

sys.modules[__name__] = error_injector
