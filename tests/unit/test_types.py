"""The public API, the runtime behind it and the examples type-check (mypy,
configured in pyproject.toml)."""

import subprocess
import sys

from spdk_py.tools.shim import ROOT


def test_mypy_finds_no_error():
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
