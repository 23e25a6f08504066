"""python -m spdk_py: the spdk-py command (spdk_py.tools.cli)."""

import sys

from spdk_py.tools.cli import main

sys.exit(main())
