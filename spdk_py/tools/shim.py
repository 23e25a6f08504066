"""Build (or find up to date) the plugin shim for one SPDK build and this Python.

    spdk-py shim build     # prints the path of libspdk_py_shim.so

The shim is built by meson into the per-user cache ($SPDK_PY_CACHE, else
~/.cache/spdk_py), one build directory per SPDK build, Python and source,
so switching SPDK_DIR never mixes objects and nothing is written where the
package is installed. Its source is this checkout's (plugin_shim/, cdefs/,
meson.build), or, installed from a wheel or an sdist, the copy the package
carries (spdk_py/_shim_source).
"""

import hashlib
import os
import pathlib
import subprocess
import sys
import sysconfig

from spdk_py.tools import provision

PACKAGE = pathlib.Path(__file__).resolve().parents[1]
# A checkout's top (also what the tests read examples and sources from).
ROOT = PACKAGE.parent
LIBRARY = "libspdk_py_shim.so"


class ShimBuildFailed(RuntimeError):
    pass


def in_checkout():
    """Whether this package is a checkout's (its shim sources beside it)."""
    return (ROOT / "meson.build").exists() and (ROOT / "plugin_shim").is_dir()


def source_dir():
    """Where the shim is built from: the checkout, or the package's own copy."""
    if in_checkout():
        return ROOT
    carried = PACKAGE / "_shim_source"
    if not (carried / "meson.build").exists():
        raise ShimBuildFailed("spdk_py at %s carries no shim source (%s): reinstall it from "
                              "a wheel or an sdist, or use a checkout" % (PACKAGE, carried))
    return carried


def python_path():
    """What the embedded interpreter imports from: the checkout (if this is
    one), then this Python's packages."""
    paths = ([str(ROOT)] if in_checkout() else []) + [sysconfig.get_path("purelib"),
                                                      sysconfig.get_path("platlib")]
    return ":".join(dict.fromkeys(paths))


# Sanitizer builds: SPDK_PY_SANITIZE=address,undefined builds (and loads) the
# shim with those sanitizers, in a build directory of its own.
SANITIZE = os.environ.get("SPDK_PY_SANITIZE", "")
# Freed memory AddressSanitizer holds back to catch use-after-free: RSS grows by it.
ASAN_QUARANTINE_MB = 64


def build_dir(install):
    """The cache's build directory for this SPDK build, Python, source and sanitizers."""
    key = hashlib.sha256(("%s|%s|%s|%s|%s|%s" % (install.root, install.arch, python_path(),
                                                 sys.executable, SANITIZE, source_dir()))
                         .encode())
    return provision.cache_dir() / ("shim-" + key.hexdigest()[:12])


def sanitizer_runtime():
    """Libraries to preload before a sanitized shim (SPDK's binaries are not sanitized)."""
    if not SANITIZE:
        return []
    names = {"address": "libasan.so", "undefined": "libubsan.so", "thread": "libtsan.so"}
    libs = [subprocess.run(["gcc", "-print-file-name=" + names[s]], capture_output=True,
                           text=True, check=True).stdout.strip()
            for s in SANITIZE.split(",") if s in names]
    return libs[:1] if "address" in SANITIZE else libs  # libasan carries UBSan's runtime


def _tool_env():
    """meson and ninja from this Python's environment, and this Python first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def build(install=None, quiet=False):
    """Configure (once) and compile the shim; return the library's path.

    SPDK_PY_SHIM names a shim built already: the emulated-NVMe guest runs the
    host's build read-only and cannot (and need not) build it again.
    """
    prebuilt = os.environ.get("SPDK_PY_SHIM")
    if prebuilt:
        return pathlib.Path(prebuilt)
    install = install or provision.locate()
    source, out = source_dir(), build_dir(install)
    env = _tool_env()
    meson = [sys.executable, "-m", "mesonbuild.mesonmain"]
    steps = []
    if not (out / "build.ninja").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        steps.append(meson + ["setup", str(out), str(source), "-Dspdk_dir=%s" % install.root,
                              "-Dpython_path=%s" % python_path(), "-Dmarch=%s" % install.arch,
                              "-Dpython_exe=%s" % sys.executable, "-Dpackage_dir=%s" % PACKAGE]
                     + (["-Db_sanitize=" + SANITIZE, "-Db_lundef=false"] if SANITIZE else []))
    steps.append(meson + ["compile", "-C", str(out)])
    for cmd in steps:
        proc = subprocess.run(cmd, cwd=source, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ShimBuildFailed("shim build failed: %s\n%s%s"
                                  % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-4000:]))
        if not quiet and proc.stdout.strip():
            print(proc.stdout.strip().splitlines()[-1], file=sys.stderr)
    return out / LIBRARY


def command():
    """``spdk-py shim build``: print the library's path."""
    try:
        print(build())
    except (provision.SpdkMissing, ShimBuildFailed) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
