"""spdk_py.examples.s3disk, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import s3disk

sys.modules[__name__] = s3disk
