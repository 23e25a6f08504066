"""Hugepages for SPDK processes (2 MB pages on hugetlbfs at /dev/hugepages).

Standard library only.

    spdk-py hugepages setup [--pages N]   # mount, reserve >= N pages (root)
    spdk-py hugepages check [--pages N]   # only check; exit 1 if short

``setup`` never lowers ``vm.nr_hugepages``: other SPDK processes may be using them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_PAGES = 1024
MOUNT_POINT = Path("/dev/hugepages")
NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
MEMINFO = Path("/proc/meminfo")
MOUNTS = Path("/proc/mounts")
DPDK_RUN_DIR = Path("/var/run/dpdk")


class HugepagesUnavailable(RuntimeError):
    """Not enough free hugepages; the message names the commands that fix it."""


def meminfo(text: str | None = None) -> dict[str, int]:
    """/proc/meminfo as {field: number} (kB for sizes, a count for HugePages_*)."""
    if text is None:
        text = MEMINFO.read_text()
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            info[key.strip()] = int(parts[0])
    return info


def hugetlbfs_mounted(mount_point: Path = MOUNT_POINT, mounts: str | None = None) -> bool:
    """Whether a hugetlbfs is mounted at mount_point."""
    if mounts is None:
        mounts = MOUNTS.read_text()
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == str(mount_point) and fields[2] == "hugetlbfs":
            return True
    return False


def fix_commands(pages: int) -> list[str]:
    """The shell commands (as root) that set up ``pages`` hugepages."""
    return [f"mkdir -p {MOUNT_POINT}",
            f"mountpoint -q {MOUNT_POINT} || mount -t hugetlbfs nodev {MOUNT_POINT}",
            f"echo {pages} > {NR_HUGEPAGES}   # only if it is lower now"]


def problems(pages: int = DEFAULT_PAGES) -> list[str]:
    """What stops SPDK from getting ``pages`` free 2 MB hugepages (empty if nothing)."""
    found = []
    if not hugetlbfs_mounted():
        found.append(f"no hugetlbfs mounted at {MOUNT_POINT}")
    info = meminfo()
    size_kb = info.get("Hugepagesize", 0)
    if size_kb != 2048:
        found.append(f"default hugepage size is {size_kb} kB, expected 2048 kB")
    free = info.get("HugePages_Free", 0)
    if free < pages:
        found.append(f"HugePages_Free is {free} (HugePages_Total "
                     f"{info.get('HugePages_Total', 0)}), need {pages}")
    return found


def _message(pages: int, found: list[str]) -> str:
    cmds = "\n".join(f"  {c}" for c in fix_commands(pages))
    return ("Hugepages are not ready for SPDK: " + "; ".join(found) +
            f".\nAs root run `python3 -m spdk_py hugepages setup --pages {pages}`, or:\n{cmds}")


def setup(pages: int = DEFAULT_PAGES) -> None:
    """Mounts hugetlbfs and raises vm.nr_hugepages to at least ``pages`` (never lowers it)."""
    if not problems(pages):
        return
    if os.geteuid() != 0:
        raise HugepagesUnavailable(_message(pages, problems(pages)) +
                                   "\n(setup needs root)")
    if not hugetlbfs_mounted():
        MOUNT_POINT.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["mount", "-t", "hugetlbfs", "nodev", str(MOUNT_POINT)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise HugepagesUnavailable(f"mount -t hugetlbfs nodev {MOUNT_POINT} failed: "
                                       f"{res.stderr.strip()}")
    info = meminfo()
    current = int(NR_HUGEPAGES.read_text())
    # Pages in use by running processes count against the total: add what is missing.
    wanted = current + max(0, pages - info.get("HugePages_Free", 0))
    if wanted > current:
        try:
            NR_HUGEPAGES.write_text(f"{wanted}\n")
        except OSError as exc:
            raise HugepagesUnavailable(f"writing {wanted} to {NR_HUGEPAGES} failed: {exc}")
    found = problems(pages)
    if found:
        # The kernel grants what it can; fragmented memory may give fewer pages.
        raise HugepagesUnavailable(_message(pages, found) +
                                   "\n(the kernel did not grant all pages: free memory "
                                   "or drop caches with `echo 3 > /proc/sys/vm/drop_caches`)")


def ensure(pages: int = DEFAULT_PAGES) -> None:
    """Makes sure ``pages`` hugepages are free: sets them up when root, else checks."""
    found = problems(pages)
    if not found:
        return
    if os.geteuid() == 0:
        setup(pages)
        return
    raise HugepagesUnavailable(_message(pages, found))


def cleanup_pid(pid: int) -> list[str]:
    """Removes what a (killed) SPDK process ``pid`` left behind; returns removed paths.

    DPDK names its hugepage files /dev/hugepages/spdk_pid<pid>map_<n> (SPDK passes
    --file-prefix=spdk_pid<pid>) and keeps runtime files in /var/run/dpdk/spdk_pid<pid>.
    """
    removed = []
    prefix = f"spdk_pid{int(pid)}"
    for path in glob.glob(str(MOUNT_POINT / f"{prefix}*")):
        # spdk_pid12map_0 belongs to pid 12; spdk_pid123map_0 does not.
        rest = Path(path).name[len(prefix):]
        if rest and rest[0].isdigit():
            continue
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    run_dir = DPDK_RUN_DIR / prefix
    if run_dir.is_dir():
        shutil.rmtree(run_dir, ignore_errors=True)
        removed.append(str(run_dir))
    return removed


def command(action: str, pages: int = DEFAULT_PAGES) -> int:
    """``spdk-py hugepages setup|check [--pages N]``."""
    try:
        if action == "setup":
            setup(pages)
        else:
            found = problems(pages)
            if found:
                raise HugepagesUnavailable(_message(pages, found))
    except HugepagesUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    info = meminfo()
    print(f"hugepages ok: {info.get('HugePages_Free', 0)} of {info.get('HugePages_Total', 0)} "
          f"2 MB pages free at {MOUNT_POINT}")
    return 0
