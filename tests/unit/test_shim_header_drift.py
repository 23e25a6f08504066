"""cffi's copy of the shim's interface says what the shim's public header says.

cdefs/spdk_py_shim.h is written by hand (cffi wants `...;` in a partial struct
and `#define X ...`), so nothing but this test keeps it the same as
plugin_shim/spdk_py_shim.h, the PUBLIC header. It fails, naming each
difference, when:
- a function (or variable) is declared in one and not the other, or its return
  type or parameter list differs (white space aside); the embedding API
  (ffi_build.EMBEDDING_API) counts as cdefs';
- a constant cdefs names is #defined in neither the header nor spdk_compat.h
  (both are what the generated C file includes), or the header #defines one
  cdefs does not name;
- a struct field cdefs lists is not in the header's struct, or has another type;
- the header declares a struct cdefs does not name.
The public header holds exactly what cdefs needs; what only the C files share
belongs in shim_internal.h. No SPDK is needed: it reads the repository's files.
"""

import pathlib
import re

import pytest

from spdk_py.tools import ffi_build

ROOT = pathlib.Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "plugin_shim" / "spdk_py_shim.h"
COMPAT = ROOT / "plugin_shim" / "spdk_compat.h"
CDEFS = "spdk_py_shim.h"


def _norm(text):
    """C text with white space folded, and none around punctuation."""
    return re.sub(r"\s*([*,()\[\]])\s*", r"\1", " ".join(text.split()))


def _drop_attributes(text):
    """text without __attribute__((...)), whose parentheses nest."""
    while True:
        start = text.find("__attribute__")
        if start < 0:
            return text
        i = text.index("(", start)
        depth = 0
        for j in range(i, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                break
        text = text[:start] + text[j + 1:]


def _statements(text):
    """Top-level declarations: ended by ';' outside braces, or by the '}' of a
    function's body."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            head = text[start:i].lstrip()
            if depth == 0 and not re.match(r"(typedef\s+)?(struct|union|enum)\b", head):
                out.append(text[start:i + 1].strip())
                start = i + 1
        elif ch == ";" and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    return [s for s in out if s]


def _fields(body):
    fields = {}
    for decl in body.split(";"):
        decl = " ".join(decl.split())
        if not decl or decl == "...":
            continue
        m = re.match(r"(.*?)(\w+)\s*(\[[^\]]*\])?$", decl)
        size = _norm(m.group(3)[1:-1]) if m.group(3) else None
        fields[m.group(2)] = (_norm(m.group(1)), size)
    return fields


def parse(text):
    """{"functions": {name: (return type, params)}, "variables": {name: type},
    "structs": {name: fields or None (opaque)}, "typedefs": set,
    "defines": set, "guard": the include guard or None}."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text).replace("\\\n", " ")
    decls = {"functions": {}, "variables": {}, "structs": {}, "typedefs": set(),
             "defines": set(), "guard": None}
    code = []
    for line in text.split("\n"):
        directive = re.match(r"\s*#\s*(\w+)\s*(\w*)", line)
        if directive is None:
            code.append(line)
        elif directive.group(1) == "define":
            decls["defines"].add(directive.group(2))
        elif directive.group(1) == "ifndef" and decls["guard"] is None:
            decls["guard"] = directive.group(2)
    code = re.sub(r'extern\s+"Python(\+C)?"', "", "\n".join(code))
    for stmt in _statements(_drop_attributes(code)):
        struct = re.match(r"struct\s+(\w+)\s*(\{(.*)\})?$", stmt, re.S)
        if stmt.startswith("typedef"):
            pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", stmt)  # a function pointer's
            decls["typedefs"].add(pointer.group(1) if pointer else re.findall(r"\w+", stmt)[-1])
        elif struct:
            name, body = struct.group(1), struct.group(3)
            if body is not None or name not in decls["structs"]:
                decls["structs"][name] = None if body is None else _fields(body)
        elif "(" in stmt:
            m = re.match(r"(.*?)(\w+)\s*\((.*)\)\s*(\{.*\})?$", stmt, re.S)
            decls["functions"][m.group(2)] = (_norm(m.group(1)), _norm(m.group(3)))
        else:
            m = re.match(r"(?:extern\s+)?(.*?)(\w+)$", " ".join(stmt.split()))
            decls["variables"][m.group(2)] = _norm(m.group(1))
    return decls


def drift(header, cdefs, compat_defines=frozenset()):
    """The differences between the public header and cdefs, one line each."""
    problems = []
    for kind in ("functions", "variables"):
        mine, theirs = header[kind], cdefs[kind]
        for name in sorted(theirs.keys() - mine.keys()):
            problems.append("%s: cdefs declares it, the public header does not" % name)
        for name in sorted(mine.keys() - theirs.keys()):
            problems.append("%s: the public header declares it, cdefs does not (C only? "
                            "shim_internal.h)" % name)
        for name in sorted(mine.keys() & theirs.keys()):
            if mine[name] != theirs[name]:
                problems.append("%s: the public header says %r, cdefs %r"
                                % (name, mine[name], theirs[name]))
    defined = header["defines"] | set(compat_defines)
    for name in sorted(cdefs["defines"] - defined):
        problems.append("#define %s: cdefs names it, the public header (and spdk_compat.h) "
                        "do not define it" % name)
    for name in sorted(header["defines"] - cdefs["defines"] - {header["guard"]}):
        problems.append("#define %s: in the public header, not in cdefs (C only? "
                        "shim_internal.h)" % name)
    for name in sorted(header["typedefs"] - cdefs["typedefs"]):
        problems.append("typedef %s: in the public header, not in cdefs" % name)
    for name in sorted(header["structs"].keys() - cdefs["structs"].keys()):
        problems.append("struct %s: in the public header, not in cdefs (C only? "
                        "shim_internal.h)" % name)
    for name, fields in sorted(cdefs["structs"].items()):
        if name not in header["structs"]:
            problems.append("struct %s: cdefs declares it, the public header does not" % name)
            continue
        if not fields:
            continue
        ours = header["structs"][name]
        if ours is None:
            problems.append("struct %s: cdefs lists fields, the public header does not "
                            "define it" % name)
            continue
        for field, (ftype, size) in fields.items():
            if field not in ours:
                problems.append("struct %s: field %s is in cdefs, not in the public header"
                                % (name, field))
                continue
            otype, osize = ours[field]
            if otype != ftype or (osize is None) != (size is None) or \
                    (size not in (None, "...") and size != osize):
                problems.append("struct %s: field %s is %s%s in the public header, %s%s "
                                "in cdefs" % (name, field, otype,
                                              "" if osize is None else "[%s]" % osize,
                                              ftype, "" if size is None else "[%s]" % size))
    return problems


def cdefs_decls(version):
    rendered = dict(zip(ffi_build.CDEFS, ffi_build.render_cdefs(version)))[CDEFS]
    return parse(rendered + "\n" + ffi_build.EMBEDDING_API + "\n")


@pytest.mark.parametrize("version", [(20, 7, 0), (26, 5, 0)])
def test_public_header_and_cdefs_agree(version):
    problems = drift(parse(PUBLIC.read_text()), cdefs_decls(version),
                     parse(COMPAT.read_text())["defines"])
    assert not problems, "cdefs/%s and plugin_shim/spdk_py_shim.h differ:\n  %s" % (
        CDEFS, "\n  ".join(problems))


def test_the_public_header_is_read_whole():
    header = parse(PUBLIC.read_text())
    # What Python uses most: a lost declaration would make the check vacuous.
    assert header["functions"]["spdk_py_disk_collect"] == (
        "int", "struct spdk_py_disk*disk,struct spdk_py_disk_stats*out,void*cb_arg")
    assert header["functions"]["python_done"] == ("void", "void*cb_arg,int rc")
    assert header["structs"]["spdk_py_vbdev"]["base_desc"] == ("struct spdk_bdev_desc*", None)
    assert header["structs"]["spdk_py_io_channel"]["done"] == (
        "TAILQ_HEAD(,spdk_py_own_io)", None)
    assert header["structs"]["spdk_py_poller"] is None
    assert header["variables"] == {"g_spdk_py_module": "struct spdk_bdev_module"}
    assert "SPDK_PY_BATCH" in header["defines"] and header["guard"] == "SPDK_PY_SHIM_H"


def test_each_kind_of_drift_is_named():
    header = parse("""
        #ifndef GUARD
        #define GUARD
        #define SPDK_PY_KEPT 1
        #define SPDK_PY_C_ONLY 2
        typedef void (*c_only_fn)(void *arg);
        struct kept {
            int a;
            uint64_t b
            __attribute__((aligned(64)));
            uint8_t cmd[SPDK_PY_KEPT];
        };
        struct c_only { int x; };
        int same(int x, char *y);
        int longer(int x);
        void c_only_function(void);
        static inline int c_only_inline(void) { return 0; }
        #endif
    """)
    cdefs = parse("""
        #define SPDK_PY_KEPT ...
        #define SPDK_PY_FROM_COMPAT ...
        #define SPDK_PY_GONE ...
        struct kept {
            int a;
            uint32_t b;
            uint8_t cmd[...];
            int missing;
            ...;
        };
        struct opaque;
        int same(int  x,  char*  y);
        int longer(int x, int y);
        extern "Python+C" void python_callback(void);
    """)
    problems = "\n".join(drift(header, cdefs, {"SPDK_PY_FROM_COMPAT"}))
    for expected in ("longer: the public header says", "c_only_function: the public header",
                     "c_only_inline: the public header", "python_callback: cdefs declares",
                     "#define SPDK_PY_GONE", "#define SPDK_PY_C_ONLY", "typedef c_only_fn",
                     "struct c_only:", "struct opaque: cdefs declares",
                     "field b is uint64_t in the public header, uint32_t",
                     "field missing is in cdefs"):
        assert expected in problems, (expected, problems)
    for quiet in ("same:", "SPDK_PY_KEPT", "SPDK_PY_FROM_COMPAT", "GUARD", "field a ",
                  "field cmd"):
        assert quiet not in problems, (quiet, problems)
