"""Sphinx configuration for spdk_py's manual.

Build it with ``sphinx-build docs docs/_build`` (tests/unit/test_docs.py
builds it with warnings as errors). The package imports without SPDK, so the
API reference is read from the docstrings of the checkout beside this file.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import spdk_py  # noqa: E402

project = "spdk_py"
author = "the spdk_py authors"
copyright = "the spdk_py authors"
version = release = spdk_py.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Markdown pages link to each other's headings by their anchors.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "undoc-members": True}

# The docstrings write `name` for code, as Markdown does.
default_role = "literal"

# Names that no page documents: a TypeVar, and the standard library's.
nitpick_ignore = [("py:class", "spdk_py.jsonrpc.Handler"), ("py:class", "threading.Thread"),
                  ("py:class", "uuid.UUID"),
                  ("py:class", "asyncio.exceptions.InvalidStateError"),
                  ("py:class", "asyncio.exceptions.CancelledError"),
                  ("py:class", "spdk_py._runtime.thread.T"),  # thread.Local's type variable
                  ("py:class", "spdk_py._runtime.shared.T")]  # read_by_every_reactor's

html_theme = "alabaster"
html_title = "spdk_py %s" % release

# The public modules re-export classes defined in spdk_py._runtime: an
# annotation names a class by where it is defined (spdk_py._runtime.later.Later),
# the manual documents it where authors import it (spdk_py.vbdev.Later). Look
# such names up among the public modules, in the package's own order.
PUBLIC = ["errors", "coroutine"] + [m for m in spdk_py.__all__
                                    if m not in ("errors", "coroutine", "__version__")]


def _public_target(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("spdk_py._runtime."):
        return None
    name = target.rsplit(".", 1)[-1]
    domain = env.get_domain("py")
    for module in PUBLIC:
        full = "spdk_py.%s.%s" % (module, name)
        if full in domain.objects:
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], full,
                                       node, contnode)
    return None


def setup(app):
    app.connect("missing-reference", _public_target)
