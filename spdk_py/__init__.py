"""spdk_py: write SPDK bdev modules in Python.

Three parts, told apart by path:
  spdk_py.bdev, io, vbdev, passthru, jsonrpc, log   the public API module authors import
  spdk_py._runtime                                  the embedded runtime, inside SPDK
  spdk_py.tools                                     the tools beside SPDK (spdk-py)

This package is imported both by ordinary Python (the CLI, the set-up steps,
the rpc.py plugin, tests) and inside an SPDK target by the shim. Keep this file
import-light: set-up code runs before any dependency is installed.
"""

__version__ = "0.1.0"
