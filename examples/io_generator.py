"""spdk_py.examples.io_generator, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import io_generator

sys.modules[__name__] = io_generator
