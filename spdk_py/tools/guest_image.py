"""The emulated-NVMe guest's kernel and initramfs, from Debian packages only.

    image = prepare()        # apt: qemu-system-x86, busybox-static, kmod; a kernel package
    image.kernel, image.initramfs

The kernel is the machine's Debian `linux-image-<abi>-amd64` package,
unpacked (not installed) into the cache with its modules, which the host's
depmod indexes. The initramfs holds busybox, the modules that mount the
host's root over virtio-9p, and an /init that does so read-only, chroots
into it with writable tmpfs where SPDK writes, runs the script the host left
in the `out` share, and powers off. Cached by package version: a warm run
downloads nothing.

    <cache>/guest/<package>_<version>/   kernel/ (the unpacked package), .ready,
                                         initramfs-<hash of /init>.cpio

Standard library only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import lzma
import re
import shutil
import stat
import subprocess
from pathlib import Path

from spdk_py.tools import debian
from spdk_py.tools.progress import locked, say, step
from spdk_py.tools.provision import cache_dir

PACKAGES = ("qemu-system-x86", "busybox-static", "kmod")
KERNEL_METAPACKAGE = "linux-image-amd64"
BUSYBOX = Path("/bin/busybox")
# What /init loads, in the order modprobe resolves, to mount the host's root.
EARLY_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
# Tags of the 9p shares the host exports (guest.py) and /init mounts.
HOST_TAG, OUT_TAG = "host", "out"
# Where the guest mounts tmpfs over the host's root.
TMPFS_DIRS = ("/tmp", "/run", "/var/tmp")
# Where the out share appears inside the chroot (on the guest's tmpfs /tmp).
OUT_DIR = "/tmp/out"
HUGEPAGES = 1024

# /init: busybox only until the chroot. The exit status of run.sh is left in
# the out share; "@@guest-up" on the console tells the host the guest booted.
INIT = r"""#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in $($B cat /modules); do $B insmod /mod/$m || echo "spdk_py: insmod $m failed"; done
R=/newroot
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose {host} $R
for d in {tmpfs}; do $B mount -t tmpfs tmpfs $R$d; done
$B ip link set lo up
$B mount -t devtmpfs devtmpfs $R/dev
$B mkdir -p $R/dev/shm $R/dev/hugepages $R{out_dir}
$B mount -t tmpfs tmpfs $R/dev/shm
$B mount -t hugetlbfs nodev $R/dev/hugepages
$B mount -t proc proc $R/proc
$B mount -t sysfs sysfs $R/sys
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 {out_tag} $R{out_dir}
# Host directories the guest's tmpfs would hide (a checkout in /tmp), each a
# share of its own: "tag path" lines.
while read tag path; do
  $B mkdir -p $R$path
  $B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose $tag $R$path
done < $R{out_dir}/mounts
echo {hugepages} > /proc/sys/vm/nr_hugepages
echo "@@guest-up"
$B chroot $R /bin/sh {out_dir}/run.sh
echo $? > $R{out_dir}/exit-status
$B sync
$B poweroff -f
""".format(host=HOST_TAG, out_tag=OUT_TAG, out_dir=OUT_DIR, hugepages=HUGEPAGES,
           tmpfs=" ".join(TMPFS_DIRS))


class GuestImageError(RuntimeError):
    """The guest's parts could not be had; the message says why."""


@dataclasses.dataclass(frozen=True)
class GuestImage:
    root: Path           # <cache>/guest/<package>_<version>
    package: str         # linux-image-6.1.0-56-amd64
    release: str         # 6.1.0-56-amd64 (the modules' directory)

    @property
    def kernel(self) -> Path:
        return self.root / "kernel/boot" / f"vmlinuz-{self.release}"

    @property
    def modules(self) -> Path:
        """What depmod -b and modprobe -d take: the directory holding
        lib/modules/<release> (the package's root, or its usr/ from Debian 13)."""
        unpacked = self.root / "kernel"
        return unpacked / "usr" if (unpacked / "usr/lib/modules").is_dir() else unpacked

    @property
    def initramfs(self) -> Path:
        """Named by what goes into it, so a change to /init makes a new one."""
        key = hashlib.sha256((INIT + "|".join(EARLY_MODULES)).encode()).hexdigest()[:12]
        return self.root / f"initramfs-{key}.cpio"


def _apt(*args: str) -> str:
    res = subprocess.run(["apt-cache", *args], capture_output=True, text=True)
    return res.stdout if res.returncode == 0 else ""


def kernel_package() -> tuple[str, str]:
    """(package, version) of the kernel Debian's linux-image-amd64 depends on."""
    for attempt in range(2):
        match = re.search(r"Depends: (linux-image-\S+-amd64)\b", _apt("depends", KERNEL_METAPACKAGE))
        if match:
            package = match.group(1)
            version = re.search(r"^Version: (\S+)", _apt("show", "--no-all-versions", package),
                                re.M)
            if version:
                return package, version.group(1)
        if attempt == 0:  # a fresh machine may have no package lists yet
            subprocess.run(["apt-get", "update"], capture_output=True)
    raise GuestImageError(f"apt knows no {KERNEL_METAPACKAGE} kernel package here")


def write_cpio(entries: list[tuple], path: Path) -> None:
    """An initramfs: (name, mode, data=b"", rdev=(0, 0)) entries, cpio newc format."""
    out = bytearray()

    def add(ino: int, name: str, mode: int, data: bytes = b"", rdev: tuple = (0, 0)) -> None:
        raw = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(raw), 0)
        out.extend(("070701" + "".join("%08X" % f for f in fields)).encode() + raw)
        out.extend(b"\0" * (-len(out) % 4) + data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, entry in enumerate(entries, 1):
        add(ino, *entry)
    add(0, "TRAILER!!!", 0)
    path.write_bytes(bytes(out))


def _module_data(path: Path) -> bytes:
    # Debian 13 compresses its modules; busybox's insmod wants them plain.
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


def early_modules(image: GuestImage) -> list[Path]:
    """The .ko files of EARLY_MODULES and their dependencies, in load order."""
    found: list[Path] = []
    for module in EARLY_MODULES:
        res = subprocess.run(["modprobe", "-d", str(image.modules), "-S", image.release,
                              "--show-depends", module], capture_output=True, text=True)
        if res.returncode != 0:
            raise GuestImageError(f"modprobe --show-depends {module} failed: {res.stderr}")
        for line in res.stdout.splitlines():
            if line.startswith("insmod ") and Path(line.split()[1]) not in found:
                found.append(Path(line.split()[1]))
    return found


def build_initramfs(image: GuestImage) -> None:
    directory = stat.S_IFDIR | 0o755
    entries = [(d, directory) for d in ("bin", "dev", "proc", "sys", "newroot", "mod")]
    entries += [("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
                ("bin/busybox", stat.S_IFREG | 0o755, BUSYBOX.read_bytes()),
                ("init", stat.S_IFREG | 0o755, INIT.encode())]
    names = []
    for path in early_modules(image):
        name = path.name.removesuffix(".xz")
        names.append(name)
        entries.append(("mod/" + name, stat.S_IFREG | 0o644, _module_data(path)))
    entries.append(("modules", stat.S_IFREG | 0o644, "\n".join(names).encode() + b"\n"))
    write_cpio(entries, image.initramfs)


def prepare(cache: Path | None = None) -> GuestImage:
    """The guest image for the machine's Debian kernel package, built if needed."""
    debian.ensure(PACKAGES, why="the emulated-NVMe guest")
    package, version = kernel_package()
    cache = cache or cache_dir()
    root = cache / "guest" / f"{package}_{version}"
    image = GuestImage(root, package, package.removeprefix("linux-image-"))
    if (root / ".ready").exists() and image.initramfs.exists():
        return image
    with locked(cache):
        if (root / ".ready").exists():
            if not image.initramfs.exists():
                build_initramfs(image)
            return image
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        with step(f"guest kernel: {package} {version}"):
            res = subprocess.run(["apt-get", "-o", "APT::Sandbox::User=root", "download",
                                  f"{package}={version}"], cwd=root, capture_output=True,
                                 text=True)
            debs = list(root.glob("*.deb"))
            if res.returncode != 0 or len(debs) != 1:
                raise GuestImageError(f"apt-get download {package}={version} failed:\n"
                                      + res.stderr[-2000:])
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root / "kernel")], check=True)
            debs[0].unlink()
            subprocess.run(["depmod", "-b", str(image.modules), image.release], check=True)
        build_initramfs(image)
        (root / ".ready").write_text(f"{package} {version}\n")
        say(f"guest image ready in {root}")
    return image

