"""A ready SPDK tree, and what differs between SPDK releases for the tools
that start its processes: where each binary is, which flags mean what.

Standard library only (it runs before the venv exists).

    install = check_tree(Path(os.environ["SPDK_DIR"]))
    install.bin("nvme_perf")               # build/examples/perf (20.07) or build/bin/spdk_nvme_perf
    install.bdevperf_zcopy(False)          # ["-x"] (20.07) or [] (modern: -Z turns it on)
    install.harness_args()                 # ["--disable-cpumask-locks"] where cores are locked
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

# Where apps and examples land: build/bin (apps), build/examples (examples; modern
# bdevperf), test/bdev/bdevperf (20.07's bdevperf).
BIN_DIRS = ("build/bin", "build/examples", "test/bdev/bdevperf")
# Names the tools use for binaries that releases name differently, newest first.
BIN_ALIASES = {
    "nvme_perf": ("spdk_nvme_perf", "perf"),
    "nvme_identify": ("spdk_nvme_identify", "identify"),
}
# Loader directories every process searches anyway: no need to name them.
SYSTEM_LIB_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib",
                   "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                   "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")


class SpdkMissing(RuntimeError):
    """No usable SPDK build; the message says what to run."""


def parse_version_h(text: str) -> tuple[tuple[int, int, int], str]:
    """((major, minor, patch), suffix) from the text of include/spdk/version.h."""
    numbers = []
    for field in ("MAJOR", "MINOR", "PATCH"):
        match = re.search(rf"^#define\s+SPDK_VERSION_{field}\s+(\d+)\s*$", text, re.M)
        if not match:
            raise ValueError(f"SPDK_VERSION_{field} not found in version.h")
        numbers.append(int(match.group(1)))
    match = re.search(r'^#define\s+SPDK_VERSION_SUFFIX\s+"([^"]*)"', text, re.M)
    return (numbers[0], numbers[1], numbers[2]), match.group(1) if match else ""


def parse_config_mk(text: str) -> dict[str, str]:
    """CONFIG_* settings of mk/config.mk (what configure chose), without the prefix."""
    found = {}
    for match in re.finditer(r"^CONFIG_(\w+)\s*\??=\s*(.*?)\s*$", text, re.M):
        found[match.group(1)] = match.group(2)
    return found


@dataclasses.dataclass(frozen=True)
class SpdkInstall:
    """A ready ``--with-shared`` SPDK tree."""

    root: Path
    version: tuple[int, int, int]
    suffix: str = ""
    origin: str = ""
    # mk/config.mk's settings (ARCH, DPDK_LIB_DIR, ...), as configure wrote them.
    config: dict[str, str] = dataclasses.field(default_factory=dict, compare=False, hash=False)

    @property
    def version_string(self) -> str:
        major, minor, patch = self.version
        text = f"{major}.{minor:02d}"
        if patch:
            text += f".{patch}"
        return text + self.suffix

    def at_least(self, major: int, minor: int) -> bool:
        return self.version[:2] >= (major, minor)

    @property
    def arch(self) -> str:
        """The -march SPDK was built for (configure's --target-arch)."""
        return self.config.get("ARCH") or "native"

    @property
    def lib_dirs(self) -> list[Path]:
        """SPDK's libraries, and DPDK's unless the loader finds them anyway.

        dpdk/build/lib is the submodule's DPDK; a build against another DPDK
        (--with-dpdk=DIR) names its library directory in config.mk, and one
        against the system's (Debian's dpdk-dev) needs nothing.
        """
        dirs = [self.root / "build/lib", self.root / "dpdk/build/lib"]
        dpdk = self.config.get("DPDK_LIB_DIR", "")
        if dpdk and os.path.normpath(dpdk) not in SYSTEM_LIB_DIRS:
            dirs.append(Path(dpdk))
        return list(dict.fromkeys(d for d in dirs if d.is_dir()))

    @property
    def include_dir(self) -> Path:
        return self.root / "include"

    @property
    def rpc_py(self) -> Path:
        return self.root / "scripts/rpc.py"

    def bin(self, name: str) -> Path:
        """Path of an SPDK app or example: spdk_tgt, nvmf_tgt, spdk_dd, bdevperf,
        abort, or a name of BIN_ALIASES (nvme_perf, nvme_identify)."""
        for candidate in BIN_ALIASES.get(name, (name,)):
            for sub in BIN_DIRS:
                path = self.root / sub / candidate
                if path.is_file() and os.access(path, os.X_OK):
                    return path
        searched = ", ".join(str(self.root / sub) for sub in BIN_DIRS)
        names = " or ".join(repr(n) for n in BIN_ALIASES.get(name, (name,)))
        raise SpdkMissing(f"SPDK binary {names} not found in {searched}")

    def bdevperf_zcopy(self, enabled: bool) -> list[str]:
        """bdevperf's flags for zero-copy on or off: 20.07 has it on unless -x,
        20.10 and later off unless -Z."""
        if self.at_least(20, 10):
            return ["-Z"] if enabled else []
        return [] if enabled else ["-x"]

    def pci_allow_args(self, address: str) -> list[str]:
        """Only this PCI device for the process (21.01 renamed the flag)."""
        return ["--pci-allowed" if self.at_least(21, 1) else "--pci-whitelist", address]

    def harness_args(self) -> list[str]:
        """What the tools add to every app-framework process they start.
        23.01 and later lock each process's cores (a second process on a core
        in use exits); the harness shares cores between processes on purpose."""
        return ["--disable-cpumask-locks"] if self.at_least(23, 1) else []

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A copy of ``base`` (default os.environ) with the SPDK libs first on LD_LIBRARY_PATH."""
        env = dict(os.environ if base is None else base)
        ours = [str(d) for d in self.lib_dirs]
        rest = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p and p not in ours]
        env["LD_LIBRARY_PATH"] = ":".join(ours + rest)
        return env


def check_tree(root: Path, origin: str = "") -> SpdkInstall:
    """An SpdkInstall for ``root``, or SpdkMissing saying what is wrong with it."""
    root = Path(root).expanduser().resolve()
    version_h = root / "include/spdk/version.h"
    missing = [p for p in (root / "build/lib/libspdk_bdev.so", version_h) if not p.exists()]
    if missing:
        names = ", ".join(str(p) for p in missing)
        raise SpdkMissing(f"{root} is not a --with-shared SPDK build (missing {names})")
    version, suffix = parse_version_h(version_h.read_text(errors="replace"))
    config_mk = root / "mk/config.mk"
    config = parse_config_mk(config_mk.read_text(errors="replace")) if config_mk.is_file() else {}
    return SpdkInstall(root=root, version=version, suffix=suffix, origin=origin, config=config)
