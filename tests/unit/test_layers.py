"""The package's layers, read from the source (no SPDK needed):

    public API (spdk_py/*.py, spdk_py/examples)  ->  spdk_py._runtime  ->  the cffi binding
    spdk_py/tools                                    apart: beside SPDK, never imported inside

Only the runtime touches the binding (lib, ffi); no runtime module imports a
public one (it loads plugins by name, which is its job); examples use the
public API only; nothing imports tools but tools; no module imports itself
back through others (no circle).
"""

import ast
import pathlib

import pytest

from tests.unit.graphs import assert_no_circle

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "spdk_py"


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(name):
    if name.startswith("spdk_py._runtime"):
        return "runtime"
    if name.startswith("spdk_py.tools") or name == "spdk_py.__main__":
        return "tools"
    if name.startswith("spdk_py.examples"):
        return "examples"
    return "public"


def _typing_only(tree):
    """The nodes under `if TYPE_CHECKING:` (imports for annotations, never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def imports(name):
    """The spdk_py modules (and other top-level packages) name imports, anywhere in it
    but for annotations only."""
    tree = ast.parse(MODULES[name].read_text())
    skipped = _typing_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError("%s: a relative import" % name)
            found.add(node.module)
            for alias in node.names:  # `from spdk_py import log` imports spdk_py.log
                if "%s.%s" % (node.module, alias.name) in MODULES:
                    found.add("%s.%s" % (node.module, alias.name))
    return found


def spdk_py_imports(name):
    return {m for m in imports(name) if m in MODULES and m != "spdk_py"}


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) == "runtime"])
def test_the_runtime_imports_no_public_module(name):
    above = {m for m in spdk_py_imports(name) if layer(m) != "runtime"}
    assert not above, "%s imports %s" % (name, ", ".join(sorted(above)))


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) in ("public", "examples")])
def test_public_modules_never_touch_the_binding(name):
    tree = ast.parse(MODULES[name].read_text())
    named = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    named |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not named & {"lib", "ffi", "binding"}, name
    assert not imports(name) & {"spdk_py._runtime.binding", "cffi", "_cffi_backend",
                                "_spdk_py_cffi"}, name


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) == "examples"])
def test_examples_use_the_public_api_only(name):
    private = {m for m in spdk_py_imports(name) if layer(m) not in ("public", "examples")}
    assert not private, "%s imports %s" % (name, ", ".join(sorted(private)))


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) != "tools"])
def test_nothing_inside_imports_the_tools(name):
    tools = {m for m in spdk_py_imports(name) if layer(m) == "tools"}
    assert not tools, "%s imports %s" % (name, ", ".join(sorted(tools)))


@pytest.mark.parametrize("name", [n for n in MODULES if layer(n) in ("public", "examples")])
def test_public_modules_say_what_they_export(name):
    tree = ast.parse(MODULES[name].read_text())
    exported = [node for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)]
    if name.startswith("spdk_py.examples") or name == "spdk_py.__main__":
        return  # plugins and programs: loaded by name, not imported from
    assert exported, "%s has no __all__" % name


def test_there_is_no_import_circle():
    graph = {name: spdk_py_imports(name) for name in MODULES}
    assert_no_circle(graph, "an import circle")
