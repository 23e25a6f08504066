"""spdk_py.examples.hello_gather, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import hello_gather

sys.modules[__name__] = hello_gather
