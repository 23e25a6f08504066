"""The manual (docs/) builds with no warning: every page, every link between
pages, every docstring the API reference reads, every cross-reference
(sphinx-build -W -n). Sphinx and myst-parser are test dependencies: a machine
without them fails here, it does not skip."""

import importlib
import importlib.util
import pathlib
import subprocess
import sys

import pytest

import spdk_py

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Every public module has a page: the package's list, and the RPC modules.
PUBLIC = [m for m in spdk_py.__all__ if m not in ("__version__", "examples")] + [
    "vbdev_rpc", "passthru_rpc", "disk_rpc", "nvme_cmd_rpc"]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    missing = [name for name in ("sphinx", "myst_parser")
               if importlib.util.find_spec(name) is None]
    assert not missing, ("%s not installed: pip install -e '.[test]' (or '.[docs]')"
                         % ", ".join(missing))
    out = tmp_path_factory.mktemp("docs")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, "sphinx-build failed:\n%s%s" % (proc.stdout, proc.stderr)
    return out / "html"


def test_the_manual_builds_with_warnings_as_errors(html):
    assert (html / "index.html").exists()
    assert (html / "api" / "spdk_py.examples.html").exists()


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_has_its_entry(html, name):
    """Each name in a public module's __all__ is documented on its page, or,
    re-exported from another public module, named there with a link."""
    module = importlib.import_module("spdk_py." + name)
    page = (html / "api" / ("spdk_py.%s.html" % name)).read_text()
    pages = {m: (html / "api" / ("spdk_py.%s.html" % m)).read_text() for m in PUBLIC}
    missing = []
    for member in module.__all__:
        if 'id="spdk_py.%s.%s"' % (name, member) in page:
            continue
        obj = getattr(module, member)
        elsewhere = [m for m in PUBLIC if m != name and getattr(
            importlib.import_module("spdk_py." + m), member, None) is obj
            and 'id="spdk_py.%s.%s"' % (m, member) in pages[m]]
        if not (elsewhere and "spdk_py.%s.html#spdk_py.%s.%s" % (elsewhere[0], elsewhere[0],
                                                                 member) in page):
            missing.append(member)
    assert not missing, "spdk_py.%s: no entry for %s" % (name, ", ".join(missing))
