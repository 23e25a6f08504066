"""Debian packages the tools need, installed with apt when missing (root only).

Standard library only (it runs before the venv exists).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys


class PackagesMissing(RuntimeError):
    """Packages are missing and cannot be installed here; the message says how."""


def missing(packages: tuple[str, ...] = (), tools: dict[str, str] | None = None) -> list[str]:
    """The packages dpkg does not have, and those providing tools not on PATH."""
    found = []
    for pkg in packages:
        res = subprocess.run(["dpkg", "-s", pkg], capture_output=True, text=True)
        if res.returncode != 0 or "Status: install ok installed" not in res.stdout:
            found.append(pkg)
    for tool, pkg in (tools or {}).items():
        if shutil.which(tool, path="/usr/bin:/bin:/usr/sbin:/sbin") is None and pkg not in found:
            found.append(pkg)
    return found


def ensure(packages: tuple[str, ...] = (), tools: dict[str, str] | None = None,
           why: str = "spdk_py") -> None:
    """apt-get install what ``missing`` finds (as root); PackagesMissing otherwise."""
    wanted = missing(packages, tools)
    if not wanted:
        return
    install = ["apt-get", "install", "-y", "--no-install-recommends", *wanted]
    if os.geteuid() != 0:
        raise PackagesMissing(f"{why} needs Debian packages that are missing. Run as root:\n"
                              f"  apt-get update && {shlex.join(install)}")
    print(f"[spdk_py] installing {' '.join(wanted)} ({why})", file=sys.stderr, flush=True)
    for cmd in (["apt-get", "update"], install):
        res = subprocess.run(cmd, capture_output=True, text=True,
                             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if res.returncode != 0:
            raise PackagesMissing(f"{shlex.join(cmd)} failed (exit {res.returncode}):\n"
                                  + "\n".join((res.stdout + res.stderr).splitlines()[-20:]))
