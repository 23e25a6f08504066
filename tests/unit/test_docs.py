"""The manual (docs/) builds with no warning: every page, every link between
pages, every docstring the API reference reads, every cross-reference
(sphinx-build -W -n). Sphinx and myst-parser are test dependencies: a machine
without them fails here, it does not skip."""

import importlib.util
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_manual_builds_with_warnings_as_errors(tmp_path):
    missing = [name for name in ("sphinx", "myst_parser")
               if importlib.util.find_spec(name) is None]
    assert not missing, ("%s not installed: pip install -e '.[test]' (or '.[docs]')"
                         % ", ".join(missing))
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, "sphinx-build failed:\n%s%s" % (proc.stdout, proc.stderr)
    assert (tmp_path / "html" / "index.html").exists()
    # Every public module has its page.
    for module in ("vbdev", "disk", "base_bdevs", "bdev_io", "coroutine", "jsonrpc"):
        assert (tmp_path / "html" / "api" / ("spdk_py.%s.html" % module)).exists(), module
