"""spdk_py.examples.latency_histogram, by its checkout name (the same module object)."""

import sys

from spdk_py.examples import latency_histogram

sys.modules[__name__] = latency_histogram
