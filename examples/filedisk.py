"""spdk_py.examples.filedisk, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import filedisk

sys.modules[__name__] = filedisk
