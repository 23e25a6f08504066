"""spdk_py.examples.mirror, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import mirror

sys.modules[__name__] = mirror
