"""spdk_py.examples.aio_s3disk, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import aio_s3disk

sys.modules[__name__] = aio_s3disk
