"""The shim's C files call each other one way only (no circle): where a lower
file must reach back up, the upper one hands it a struct of function
pointers (spdk_py_vbdev_io_ops, spdk_py_disk_io_ops, spdk_py_kept_ops).
Read from the source: which file defines each non-static function, and which
other files call it."""

import pathlib
import re

from tests.unit.graphs import assert_no_circle

SHIM = pathlib.Path(__file__).resolve().parents[2] / "plugin_shim"
# SPDK style: the return type on its own line, the name at the line's start.
DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \*]*\n([a-z_][a-z0-9_]*)\(", re.M)
CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(")
BOUND = 500


def sources():
    return {path.name: path.read_text() for path in sorted(SHIM.glob("*.c"))}


def calls_between_files():
    texts = sources()
    defined = {}
    for name, text in texts.items():
        for function in DEFINITION.findall(text):
            defined[function] = name
    graph = {name: set() for name in texts}
    for name, text in texts.items():
        for function in set(CALL.findall(text)):
            home = defined.get(function)
            if home is not None and home != name:
                graph[name].add(home)
    return graph


def test_the_definitions_are_found():
    graph = calls_between_files()
    assert "shim_gate.c" in graph["shim_disk_io.c"], graph["shim_disk_io.c"]


def test_no_two_shim_files_call_each_other_in_a_circle():
    graph = calls_between_files()
    assert_no_circle(graph, "a call circle")


def test_files_hold_one_job_each_in_about_500_lines():
    # shim_forward.c is the forwarding of every I/O type to a base: one job.
    long = {name: text.count("\n") for name, text in sources().items()
            if text.count("\n") > BOUND and name != "shim_forward.c"}
    assert not long, long
