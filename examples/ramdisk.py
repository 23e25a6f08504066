"""spdk_py.examples.ramdisk, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import ramdisk

sys.modules[__name__] = ramdisk
