"""spdk_py.examples.hello_bdev, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import hello_bdev

sys.modules[__name__] = hello_bdev
