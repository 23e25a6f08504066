"""spdk_py: write SPDK bdev modules in Python.

This package is imported both by ordinary Python (the CLI, the set-up steps,
the rpc.py plugin, tests) and inside an SPDK target by the shim. Keep this file
import-light: set-up code runs before any dependency is installed.
"""

__version__ = "0.1.0"
