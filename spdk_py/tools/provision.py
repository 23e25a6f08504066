"""Find or build the SPDK that spdk_py runs against.

Standard library only: this runs with the system python3 before any venv exists.

Two sources, in this order:

1. ``$SPDK_DIR``: the user's own ``--with-shared`` SPDK build. Checked, never rebuilt.
2. A build in the cache (``$SPDK_PY_CACHE`` or ``~/.cache/spdk_py``) of the SPDK that
   Debian's ``ceph`` source package vendors (SPDK v20.07 with DPDK 20.05). ``build``
   fetches the newest ceph source with a private apt state (the machine's apt
   configuration is not touched), verifies it, extracts ``src/spdk`` and builds it.

Cache layout::

    <cache>/apt/                      private apt state (sources.list, lists/)
    <cache>/downloads/                ceph_<ver>.orig.tar.xz
    <cache>/spdk-<sha256[:16]>/spdk   SPDK_DIR, keyed by the tarball's checksum
    <cache>/spdk-<sha256[:16]>/.built stamp (JSON: configure args, patches); written last
    <cache>/spdk-<sha256[:16]>/build.log

CLI::

    spdk-py spdk build   # ensure a build exists; print where and which version
    spdk-py spdk dir     # print SPDK_DIR of a ready build (exit 1 if none)
    spdk-py spdk env     # print export lines (eval "$(spdk-py spdk env)")
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from spdk_py.tools import debian
from spdk_py.tools.progress import locked, say, step
from spdk_py.tools.spdk_install import SpdkInstall, SpdkMissing, check_tree

# A portable x86 target instead of SPDK's default -march=native: the same build
# runs on this host and in the emulated-NVMe guest, whose CPU (QEMU TCG) lacks
# some of the host's instructions (RDSEED, SHA, VPCLMULQDQ).
PORTABLE_ARCH = {"x86_64": "haswell"}
CONFIGURE_ARGS = (
    "--with-shared",
    "--disable-tests",
    "--disable-unit-tests",
    "--without-vhost",
    "--without-virtio",
    "--without-isal",
    "--without-crypto",
) + tuple(f"--target-arch={arch}" for arch in
          filter(None, [PORTABLE_ARCH.get(platform.machine())]))
# Debian packages the build needs, checked with dpkg before anything is installed.
BUILD_DEPS = (
    "libnuma-dev",
    "libaio-dev",
    "uuid-dev",
    "libssl-dev",
    "meson",
    "ninja-build",
    "python3-pyelftools",
    "pkg-config",
    "libncurses-dev",  # spdk_top
)
# Tools the build needs that a minimal system may lack, and the package providing each.
BUILD_TOOLS = {"make": "build-essential", "gcc": "build-essential",
               "g++": "g++",  # app/trace is C++
               "xz": "xz-utils"}
# Debian suites searched for ceph source, in order of preference for equal versions.
SUITES = ("sid", "trixie")
SOURCE_PACKAGE = "ceph"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
LOG_TAIL_LINES = 40
HEARTBEAT_SECONDS = 30


class SpdkBuildError(RuntimeError):
    """Fetching or building SPDK failed; the message says where the log is."""


def cache_dir() -> Path:
    """``$SPDK_PY_CACHE`` or ``~/.cache/spdk_py``."""
    env = os.environ.get("SPDK_PY_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "spdk_py"


def locate(build: bool = False) -> SpdkInstall:
    """The SPDK to use: $SPDK_DIR, else a finished cached build, else build one if asked."""
    user_dir = os.environ.get("SPDK_DIR")
    if user_dir:
        try:
            return check_tree(Path(user_dir), origin="$SPDK_DIR")
        except SpdkMissing as exc:
            raise SpdkMissing(f"SPDK_DIR={user_dir}: {exc}. Point SPDK_DIR at an SPDK "
                              "tree configured with --with-shared and built with make, "
                              "or unset it to use spdk_py's own build.") from None
    cache = cache_dir()
    found = finished_builds(cache)
    if found:
        return found[0]
    if not build:
        raise SpdkMissing(
            f"No SPDK build found (SPDK_DIR is unset and {cache} has no finished build). "
            "Run `python3 -m spdk_py spdk build` (fetches Debian's ceph source and builds "
            "its vendored SPDK; a few minutes) or set SPDK_DIR to your own --with-shared "
            "SPDK build.")
    return build_cached(cache)


def finished_builds(cache: Path) -> list[SpdkInstall]:
    """Cached builds whose stamp matches CONFIGURE_ARGS, best (newest SPDK) first."""
    found = []
    for stamp_path in cache.glob("spdk-*/.built"):
        try:
            stamp = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            continue
        if stamp.get("configure") != list(CONFIGURE_ARGS):
            continue
        origin = f"Debian {SOURCE_PACKAGE} {stamp.get('source_version', '?')} source"
        try:
            install = check_tree(stamp_path.parent / "spdk", origin=origin)
        except (SpdkMissing, ValueError):
            continue
        found.append((install.version, stamp_path.stat().st_mtime, install))
    found.sort(key=lambda item: item[:2], reverse=True)
    return [item[2] for item in found]


# ---------------------------------------------------------------------------
# Parsing (pure functions, unit-tested).


def _order(char: str) -> int:
    # dpkg's character order for the non-digit parts: ~ sorts before everything, even end.
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _verrevcmp(a: str, b: str) -> int:
    # dpkg's verrevcmp(): alternating non-digit and digit runs.
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_version(version: str) -> tuple[int, str, str]:
    epoch, _, rest = version.partition(":") if ":" in version else ("0", "", version)
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    return int(epoch or 0), upstream, revision


def compare_debian_versions(a: str, b: str) -> int:
    """<0, 0, >0 like ``dpkg --compare-versions``."""
    ea, ua, ra = _split_version(a)
    eb, ub, rb = _split_version(b)
    if ea != eb:
        return ea - eb
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


@dataclasses.dataclass(frozen=True)
class SourceVersion:
    """One source package version from ``apt-cache showsrc``: its orig tarball and checksum."""

    package: str
    version: str
    tarball: str
    sha256: str
    size: int


def _deb822_paragraphs(text: str) -> Iterator[dict[str, str]]:
    # Fields of each blank-line separated paragraph; continuation lines joined with "\n".
    para: dict[str, str] = {}
    field = None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if para:
                yield para
            para, field = {}, None
        elif line.startswith("#"):
            continue
        elif line[0] in " \t" and field:
            para[field] += "\n" + line.strip()
        elif ":" in line:
            field, _, value = line.partition(":")
            field = field.strip()
            para[field] = value.strip()


def parse_showsrc(text: str) -> list[SourceVersion]:
    """Source versions in ``apt-cache showsrc`` output, newest first, deduplicated."""
    found: dict[str, SourceVersion] = {}
    for para in _deb822_paragraphs(text):
        package, version = para.get("Package"), para.get("Version")
        if not package or not version:
            continue
        orig = re.compile(rf"^{re.escape(package)}_[^/]+\.orig\.tar\.(xz|gz|bz2)$")
        for line in para.get("Checksums-Sha256", "").splitlines():
            parts = line.split()
            if len(parts) == 3 and orig.match(parts[2]):
                found[version] = SourceVersion(package, version, parts[2], parts[0].lower(),
                                               int(parts[1]))
    ordered = sorted(found.values(), key=lambda s: _VersionKey(s.version), reverse=True)
    return ordered


class _VersionKey:
    # Sort key wrapping compare_debian_versions.
    def __init__(self, version: str):
        self.version = version

    def __lt__(self, other: "_VersionKey") -> bool:
        return compare_debian_versions(self.version, other.version) < 0


@dataclasses.dataclass(frozen=True)
class AptSource:
    """One entry of the machine's apt sources (either file format)."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]


def parse_sources_deb822(text: str) -> list[AptSource]:
    """Entries of a deb822 ``*.sources`` file; ``Enabled: no`` entries are dropped."""
    entries = []
    for para in _deb822_paragraphs(text):
        if para.get("Enabled", "yes").strip().lower() == "no":
            continue
        entries.append(AptSource(*(tuple(para.get(f, "").split())
                                   for f in ("Types", "URIs", "Suites", "Components"))))
    return [e for e in entries if e.types and e.uris and e.suites]


def parse_sources_list(text: str) -> list[AptSource]:
    """Entries of a one-line-style ``sources.list``."""
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        line = re.sub(r"\[[^\]]*\]", " ", line)  # options: [arch=amd64 signed-by=...]
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("deb", "deb-src"):
            entries.append(AptSource((parts[0],), (parts[1],), (parts[2],), tuple(parts[3:])))
    return entries


def archive_uri(entries: list[AptSource]) -> str | None:
    """The Debian archive URI of the machine: a main-component entry for a plain suite.

    Plain means not ``*-security``/``*-updates``/``*-backports``: those live on other
    archives (debian-security) or do not carry the full source set.
    """
    for entry in entries:
        if "main" not in entry.components:
            continue
        if not any("-" not in suite and "/" not in suite for suite in entry.suites):
            continue
        for uri in entry.uris:
            if uri.startswith(("http://", "https://", "file:", "ftp://")):
                return uri.rstrip("/")
    return None


def machine_archive_uri(paths: tuple[Path, ...] = APT_SOURCES) -> str:
    """The Debian archive URI the machine's own ``deb`` entries use."""
    entries: list[AptSource] = []
    for path in paths:
        files = sorted(path.glob("*.sources")) + sorted(path.glob("*.list")) \
            if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text(errors="replace")
            except OSError:
                continue
            parse = parse_sources_deb822 if file.suffix == ".sources" else parse_sources_list
            entries.extend(parse(text))
    uri = archive_uri(entries)
    if not uri:
        where = ", ".join(str(p) for p in paths)
        raise SpdkBuildError(f"No Debian archive entry (component main) found in {where}; "
                             "spdk_py fetches the ceph source from the same archive.")
    return uri


def patch_arc4random(text: str) -> str | None:
    """iscsi.c with its static arc4random() renamed, or None if it needs no patch.

    SPDK 20.07's lib/iscsi/iscsi.c defines ``static uint32_t arc4random(void)``; glibc
    2.36 declares a non-static arc4random in stdlib.h, so the file stops compiling. Newer
    trees guard the definition with SPDK_CONFIG_HAVE_ARC4RANDOM (set by configure) and
    need nothing. Renaming the static function (and its callers) is the usual distro fix.
    """
    if not re.search(r"^static\s+uint32_t\s*\n?\s*arc4random\s*\(\s*void\s*\)", text, re.M):
        return None
    if "SPDK_CONFIG_HAVE_ARC4RANDOM" in text:
        return None
    return re.sub(r"\barc4random\b(?=\s*\()", "spdk_py_iscsi_arc4random", text)


# Build-time patches: (path in the SPDK tree, function returning new text or None, what).
PATCHES = (
    ("lib/iscsi/iscsi.c", patch_arc4random,
     "renamed static arc4random() to spdk_py_iscsi_arc4random() (clashes with glibc 2.36)"),
)


# ---------------------------------------------------------------------------
# Fetching and building.


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _run_logged(cmd: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None,
                what: str = "") -> None:
    # Runs cmd with output appended to log, printing a heartbeat while it runs.
    with step(what or " ".join(cmd)), open(log, "a") as out:
        out.write(f"\n### {time.strftime('%F %T')} {shlex.join(cmd)} (in {cwd})\n")
        out.flush()
        start = time.monotonic()
        # Own process group, so an interrupted build also stops make's compilers.
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                try:
                    rc = proc.wait(timeout=HEARTBEAT_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    last = _tail(log, 1).strip()[:100]
                    say(f"  ... {time.monotonic() - start:.0f} s: {last}")
        except BaseException:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        if rc != 0:
            raise SpdkBuildError(f"{shlex.join(cmd)} failed (exit {rc}) in {cwd}.\n"
                                 f"Last {LOG_TAIL_LINES} lines of {log}:\n{_tail(log)}")


def _is_root() -> bool:
    return os.geteuid() == 0


def ensure_build_deps() -> None:
    """apt-get install the build dependencies that are missing (root only)."""
    try:
        debian.ensure(BUILD_DEPS, BUILD_TOOLS, why="building SPDK")
    except debian.PackagesMissing as exc:
        raise SpdkBuildError(str(exc)) from None


def _apt_options(cache: Path) -> list[str]:
    # A private apt state: our sources and lists, no package caches, no system locks
    # (concurrent spdk_py runs are serialised by _locked instead).
    apt = cache / "apt"
    opts = {
        "Dir::State::Lists": f"{apt}/lists",
        "Dir::Etc::SourceList": f"{apt}/sources.list",
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::Cache::pkgcache": "",
        "Dir::Cache::srcpkgcache": "",
        "Debug::NoLocking": "1",
    }
    if _is_root():
        opts["APT::Sandbox::User"] = "root"  # _apt cannot write into root's home
    return [arg for key, value in opts.items() for arg in ("-o", f"{key}={value}")]


def apt_source_lines(uri: str, suites: tuple[str, ...] = SUITES) -> str:
    """The private sources.list: deb-src lines for each suite on the machine's archive."""
    return "".join(f"deb-src {uri} {suite} main\n" for suite in suites)


def _apt_update(cache: Path) -> None:
    apt = cache / "apt"
    (apt / "lists/partial").mkdir(parents=True, exist_ok=True)
    (apt / "sources.list").write_text(apt_source_lines(machine_archive_uri()))
    cmd = ["apt-get", "-q", *_apt_options(cache), "update"]
    with step(f"apt-get update (deb-src {', '.join(SUITES)}; private state in {apt})"):
        res = subprocess.run(cmd, capture_output=True, text=True)
    # One suite is enough (a mirror's sid may be stale, its Release expired):
    # _showsrc fails, with this, if no suite gave a ceph source.
    if res.returncode != 0:
        say(f"apt-get update: some suites failed (exit {res.returncode}); going on with the "
            "others:\n" + "\n".join(line for line in (res.stdout + res.stderr).splitlines()
                                     if line.startswith(("E:", "W:"))))


def _showsrc(cache: Path) -> list[SourceVersion]:
    cmd = ["apt-cache", *_apt_options(cache), "showsrc", SOURCE_PACKAGE]
    res = subprocess.run(cmd, capture_output=True, text=True)
    versions = parse_showsrc(res.stdout)
    if not versions:
        raise SpdkBuildError(f"No {SOURCE_PACKAGE} source with an orig tarball in suites "
                             f"{', '.join(SUITES)} ({shlex.join(cmd)} exit {res.returncode}):\n"
                             + res.stderr[-2000:])
    return versions


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, src: SourceVersion) -> bool:
    return path.is_file() and path.stat().st_size == src.size and sha256_file(path) == src.sha256


def fetch_tarball(cache: Path, src: SourceVersion) -> Path:
    """The verified orig tarball of ``src`` in <cache>/downloads, downloaded if needed."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    path = downloads / src.tarball
    if path.exists():
        if _verified(path, src):
            say(f"using {path} (sha256 verified)")
            return path
        path.unlink()  # partial or corrupt: apt would try to resume it
    cmd = ["apt-get", "-q", *_apt_options(cache), "source", "--download-only",
           f"{src.package}={src.version}"]
    with step(f"downloading {src.tarball} ({src.size / 1e6:.0f} MB)"):
        # The .dsc may 404 and make apt exit non-zero although the tarball arrived:
        # what counts is the tarball and its checksum, not apt's exit code.
        res = subprocess.run(cmd, cwd=downloads, capture_output=True, text=True)
    if not path.exists():
        raise SpdkBuildError(f"{src.tarball} did not arrive ({shlex.join(cmd)} exit "
                             f"{res.returncode}):\n" + (res.stdout + res.stderr)[-2000:])
    if not _verified(path, src):
        path.unlink()
        raise SpdkBuildError(f"{src.tarball}: size or sha256 differs from apt-cache showsrc "
                             f"(expected {src.sha256}, {src.size} bytes); removed it.")
    say(f"{path}: sha256 verified")
    return path


def _build_env() -> dict[str, str]:
    # SPDK/DPDK must see Debian's meson, ninja and python3 (with pyelftools), not a venv's
    # or pyenv's: /usr/bin first, and no venv variables.
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin:" + env.get("PATH", "")
    return env


def _extract(tarball: Path, key_dir: Path) -> Path:
    # Extracts */src/spdk into key_dir/spdk via a scratch dir, so "spdk" exists only whole.
    tree = key_dir / "spdk"
    scratch = key_dir / ".extract"
    for stale in (tree, scratch):
        if stale.exists():
            shutil.rmtree(stale)
    scratch.mkdir(parents=True)
    with step(f"extracting src/spdk from {tarball.name}"):
        cmd = ["tar", "-xJf", str(tarball), "-C", str(scratch), "--wildcards", "*/src/spdk/*"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        found = list(scratch.glob("*/src/spdk"))
        if res.returncode != 0 or len(found) != 1:
            raise SpdkBuildError(f"{shlex.join(cmd)} failed (exit {res.returncode}, "
                                 f"{len(found)} src/spdk dirs):\n{res.stderr[-2000:]}")
        found[0].rename(tree)
        shutil.rmtree(scratch)
    return tree


def apply_patches(tree: Path) -> list[str]:
    """Applies PATCHES to an extracted tree; descriptions of what was changed."""
    applied = []
    for rel, patch, what in PATCHES:
        path = tree / rel
        if not path.is_file():
            continue
        new = patch(path.read_text())
        if new is not None:
            path.write_text(new)
            applied.append(f"{rel}: {what}")
            say(f"patched {rel}: {what}")
    return applied


def build_tree(tree: Path, log: Path) -> None:
    """configure + make + bdevperf + NVMe perf in an extracted SPDK tree."""
    env = _build_env()
    jobs = str(len(os.sched_getaffinity(0)))
    say(f"build log: {log}")
    _run_logged(["./configure", *CONFIGURE_ARGS], log, tree, env, "configure")
    _run_logged(["make", f"-j{jobs}"], log, tree, env, f"make -j{jobs}")
    _run_logged(["make", "-C", "test/bdev/bdevperf", f"-j{jobs}"], log, tree, env,
                "make bdevperf")
    if not (tree / "build/examples/perf").exists():
        _run_logged(["make", "-C", "examples/nvme/perf", f"-j{jobs}"], log, tree, env,
                    "make NVMe perf example")
    install = check_tree(tree)
    for name in ("spdk_tgt", "bdevperf", "nvme_perf"):
        install.bin(name)


def build_cached(cache: Path) -> SpdkInstall:
    """Fetches the newest ceph source and builds its SPDK into the cache (locked)."""
    with locked(cache):
        found = finished_builds(cache)  # another process may have finished meanwhile
        if found:
            return found[0]
        start = time.monotonic()
        ensure_build_deps()
        _apt_update(cache)
        versions = _showsrc(cache)
        say("ceph source versions: " + ", ".join(v.version for v in versions))
        errors = []
        for src in versions:  # newest first; fall back to older ones if a fetch fails
            try:
                tarball = fetch_tarball(cache, src)
                break
            except SpdkBuildError as exc:
                errors.append(str(exc))
                say(f"ceph {src.version}: {str(exc).splitlines()[0]}")
        else:
            raise SpdkBuildError("Could not fetch any ceph source:\n" + "\n".join(errors))
        key_dir = cache / f"spdk-{src.sha256[:16]}"
        key_dir.mkdir(parents=True, exist_ok=True)
        (key_dir / ".built").unlink(missing_ok=True)
        tree = _extract(tarball, key_dir)
        patches = apply_patches(tree)
        build_tree(tree, key_dir / "build.log")
        stamp = {
            "configure": list(CONFIGURE_ARGS),
            "patches": patches,
            "source_package": src.package,
            "source_version": src.version,
            "tarball": src.tarball,
            "sha256": src.sha256,
            "built": time.strftime("%FT%T%z"),
        }
        (key_dir / ".built").write_text(json.dumps(stamp, indent=2) + "\n")
        say(f"SPDK built in {time.monotonic() - start:.0f} s")
        return check_tree(tree, origin=f"Debian {src.package} {src.version} source")


# ---------------------------------------------------------------------------
# CLI.


def env_lines(install: SpdkInstall) -> list[str]:
    """Shell export lines that put this SPDK's libraries on the loader path."""
    libs = ":".join(shlex.quote(str(d)) for d in install.lib_dirs)
    lines = [f"export SPDK_DIR={shlex.quote(str(install.root))}",
             f'export LD_LIBRARY_PATH={libs}"${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"']
    pkgconfig = install.root / "build/lib/pkgconfig"
    if pkgconfig.is_dir():
        lines.append(f'export PKG_CONFIG_PATH={shlex.quote(str(pkgconfig))}'
                     '"${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"')
    return lines


def command(action: str) -> int:
    """``spdk-py spdk build|dir|env``."""
    try:
        install = locate(build=action == "build")
    except (SpdkMissing, SpdkBuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the next `build` starts an unfinished build over",
              file=sys.stderr)
        return 130
    if action == "build":
        print(f"SPDK_DIR={install.root}")
        print(f"SPDK {install.version_string} ({install.origin})")
    elif action == "dir":
        print(install.root)
    else:
        print("\n".join(env_lines(install)))
    return 0
