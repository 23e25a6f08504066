"""An emulated NVMe SSD in a QEMU guest: boot it, run a script in it, power off.

    guest = Guest(guest_image.prepare(), workdir)
    status = guest.run("cd /work/main && .venv/bin/python -m pytest ...", timeout=900)

The guest runs the host's own root read-only (the project, its venv, the
SPDK build: the same files), with one QEMU `nvme` controller (id nvme0) on a
sparse image. KVM is used when a guest boots with it (tried first, for a few
seconds), TCG otherwise; which one is printed. The guest's second serial
port reaches the host's QMP through a relay, so code in the guest can
hot-remove and re-add its own NVMe controller (`tests/integration/guest/host.py`).

Standard library only.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from spdk_py.tools.guest_image import HOST_TAG, OUT_DIR, OUT_TAG, TMPFS_DIRS, GuestImage

# The project's root (spdk_py/tools/guest.py is two levels down).
ROOT = Path(__file__).resolve().parents[2]

QEMU = "qemu-system-x86_64"
MEMORY_MB = 3072
CPUS = 2
NVME_IMAGE_BYTES = 128 << 20
NVME_IMAGE = "nvme.img"
NVME_SERIAL = "SPDKPY0000000001"
# The controller, as device_add takes it back after a device_del; in slot
# 0x10, or 0x11 (SPDK 20.07 attaches no controller again at the address
# one was hot-removed from, in the same process).
NVME_SLOTS = ("0x10", "0x11")
NVME_DEVICE = {"driver": "nvme", "id": "nvme0", "serial": NVME_SERIAL, "drive": "nvm0",
               "addr": NVME_SLOTS[0]}
# A kernel that boots reaches /init in a second or two under KVM.
KVM_PROBE_SECONDS = 15
# QMP commands the guest may send through the relay.
RELAYED = ("device_del", "device_add")
UP_MARKER = "@@guest-up"


class GuestError(RuntimeError):
    """The guest did not boot or did not finish; the message has its console's tail."""


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


class Qmp:
    """A QMP client: one command at a time, events skipped."""

    def __init__(self, path: Path, timeout: float = 30.0):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("r")
        self._answer()  # the greeting
        self.call("qmp_capabilities")

    def _answer(self) -> dict:
        while True:
            line = self.reader.readline()
            if not line:
                raise GuestError("QMP connection closed")
            message = json.loads(line)
            if "event" not in message:
                return message

    def send(self, command: dict) -> dict:
        self.sock.sendall(json.dumps(command).encode() + b"\n")
        return self._answer()

    def call(self, execute: str, **arguments) -> dict:
        return self.send({"execute": execute, "arguments": arguments})

    def close(self) -> None:
        self.sock.close()


class Guest:
    def __init__(self, image: GuestImage, workdir: Path, memory_mb: int = MEMORY_MB,
                 cpus: int = CPUS, shared: tuple = ()):
        """shared: host paths the guest must see (the project, SPDK): those
        under a directory the guest covers with tmpfs get a share of their own."""
        self.image = image
        self.hidden = sorted({str(Path(p).resolve()) for p in shared
                              if any(str(Path(p).resolve()).startswith(d + "/")
                                     for d in TMPFS_DIRS)})
        self.workdir = Path(workdir)
        self.out = self.workdir / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.console = self.workdir / "console.log"
        self.accel = None
        self.env: dict[str, str] = {}

    def script(self, commands: str) -> str:
        """commands (sh), run in the project's directory with self.env exported."""
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self.env.items())
        return f"{exports}cd {shlex.quote(str(ROOT))}\n{commands}\n"

    def _nvme_image(self) -> Path:
        # Sparse, zeroed at every boot, in the out share: the guest can blank
        # it between runs that need a fresh namespace (NVME_IMAGE in the guest).
        path = self.out / NVME_IMAGE
        with open(path, "wb") as f:
            f.truncate(NVME_IMAGE_BYTES)
        return path

    def command(self, accel: str) -> list[str]:
        cpu = "host" if accel == "kvm" else "max"
        return [QEMU, "-machine", "pc", "-accel", "kvm" if accel == "kvm" else "tcg,thread=multi",
                "-cpu", cpu, "-m", str(self.memory_mb), "-smp", str(self.cpus),
                "-display", "none", "-vga", "none", "-nic", "none", "-no-reboot",
                "-monitor", "none",
                "-kernel", str(self.image.kernel), "-initrd", str(self.image.initramfs),
                "-append", "console=ttyS0 rdinit=/init panic=-1 edd=off quiet",
                "-chardev", f"file,id=console,path={self.console}", "-serial", "chardev:console",
                "-chardev", f"socket,id=relay,path={self.workdir / 'relay.sock'},server=on,wait=off",
                "-serial", "chardev:relay",
                "-qmp", f"unix:{self.workdir / 'qmp.sock'},server=on,wait=off",
                "-virtfs", f"local,path=/,mount_tag={HOST_TAG},security_model=none,readonly=on,"
                            "multidevs=remap",  # the host root spans file systems
                "-virtfs", f"local,path={self.out},mount_tag={OUT_TAG},security_model=none",
                *[arg for i, path in enumerate(self.hidden) for arg in (
                    "-virtfs", f"local,path={path},mount_tag=p{i},security_model=none,"
                               "readonly=on,multidevs=remap")],
                # discard=unmap: QEMU honours a deallocate (SPDK 20.07's
                # write-zeroes on NVMe), whose blocks read back as zeros.
                "-blockdev", f"driver=raw,node-name=nvm0,discard=unmap,file.driver=file,"
                             f"file.discard=unmap,file.filename={self._nvme_image()}",
                "-device", ",".join(f"{k}={v}" for k, v in NVME_DEVICE.items())]

    def _console_text(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except OSError:
            return ""

    def _boot(self, accel: str) -> subprocess.Popen:
        self.console.unlink(missing_ok=True)
        log = open(self.workdir / "qemu.log", "ab")
        return subprocess.Popen(self.command(accel), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    def _wait_up(self, proc: subprocess.Popen, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and proc.poll() is None:
            if UP_MARKER in self._console_text():
                return True
            time.sleep(0.2)
        return UP_MARKER in self._console_text()

    def _kvm_boot(self) -> subprocess.Popen | None:
        """QEMU under KVM with a guest that reached /init, or None (and why, printed)."""
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return None
        proc = self._boot("kvm")
        if self._wait_up(proc, KVM_PROBE_SECONDS):
            return proc
        proc.kill()
        proc.wait()
        why = "exited" if proc.returncode not in (None, -9) else \
            f"did not reach /init in {KVM_PROBE_SECONDS} s"
        print(f"[spdk_py] guest: a KVM guest {why}; using TCG", file=sys.stderr, flush=True)
        return None

    def choose_accel(self) -> str:
        """kvm if a guest boots with it here (tried once), else tcg."""
        if self.accel is None:
            (self.out / "run.sh").write_text("true\n")
            proc = self._kvm_boot()
            self.accel = "tcg" if proc is None else "kvm"
            if proc is not None:
                proc.kill()
                proc.wait()
        return self.accel

    def _start(self) -> subprocess.Popen:
        """QEMU running a guest that reached /init: KVM if it gets there, else TCG."""
        if self.accel is None:
            proc = self._kvm_boot()
            self.accel = "tcg" if proc is None else "kvm"
            if proc is not None:
                return proc
        return self._boot(self.accel)

    def _relay(self, stop: threading.Event) -> None:
        """Guest QMP commands (one JSON line each on its ttyS1) to QEMU, answers back."""
        try:
            link = socket.socket(socket.AF_UNIX)
            link.connect(str(self.workdir / "relay.sock"))
            qmp = Qmp(self.workdir / "qmp.sock")
        except OSError:
            return
        link.settimeout(0.5)
        pending = b""
        with link:
            while not stop.is_set():
                try:
                    chunk = link.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        link.sendall(json.dumps(self._relayed(qmp, line)).encode() + b"\n")
        qmp.close()

    @staticmethod
    def _relayed(qmp: Qmp, line: bytes) -> dict:
        try:
            command = json.loads(line)
        except ValueError:
            return {"error": {"class": "spdk_py", "desc": "not JSON: %r" % line[:80]}}
        if command.get("execute") not in RELAYED:
            return {"error": {"class": "spdk_py", "desc": "not relayed: %s (only %s)"
                              % (command.get("execute"), ", ".join(RELAYED))}}
        return qmp.send(command)

    def _echo_console(self, offset: int) -> int:
        text = self._console_text()
        sys.stdout.write(text[offset:])
        sys.stdout.flush()
        return len(text)

    def run(self, script: str, timeout: float, echo: bool = False) -> int:
        """Boot, run script (sh, in the host's root) in the guest, power off; its
        exit status. echo: copy the guest's console (the script's output) here."""
        (self.out / "run.sh").write_text(script)
        (self.out / "mounts").write_text("".join(f"p{i} {path}\n"
                                                 for i, path in enumerate(self.hidden)))
        (self.out / "exit-status").unlink(missing_ok=True)
        start = time.monotonic()
        proc = self._start()
        print(f"[spdk_py] guest: QEMU {self.accel.upper()}, {self.cpus} vCPUs, "
              f"{self.memory_mb} MB, kernel {self.image.release}", file=sys.stderr, flush=True)
        stop = threading.Event()
        relay = None
        try:
            if not self._wait_up(proc, max(timeout - (time.monotonic() - start), 1)):
                raise GuestError(f"the guest did not boot ({self.accel}); console:\n"
                                 + _tail(self._console_text()))
            relay = threading.Thread(target=self._relay, args=(stop,), daemon=True)
            relay.start()
            shown = 0
            while proc.poll() is None:
                if time.monotonic() - start > timeout:
                    raise GuestError(f"the guest did not finish within {timeout:.0f} s; "
                                     "console:\n" + _tail(self._console_text()))
                if echo:
                    shown = self._echo_console(shown)
                time.sleep(0.5)
            if echo:
                self._echo_console(shown)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if relay is not None:
                relay.join(timeout=5)
        (self.out / NVME_IMAGE).unlink(missing_ok=True)
        status = self.out / "exit-status"
        if not status.exists():
            raise GuestError(f"the guest stopped before its script ended (QEMU exit "
                             f"{proc.returncode}); console:\n" + _tail(self._console_text()))
        print(f"[spdk_py] guest: done in {time.monotonic() - start:.0f} s", file=sys.stderr,
              flush=True)
        return int(status.read_text().strip() or 1)


def for_tools(image: GuestImage, workdir: Path, install, shim_path: Path) -> "Guest":
    """A guest that runs spdk_py's tools and tests: it sees the project, the
    SPDK build, the shim and this Python wherever they are, and its scripts
    get tools_env() (Guest.script)."""
    vm = Guest(image, workdir, shared=(ROOT, install.root, Path(shim_path).parent,
                                       Path(sys.prefix), Path(sys.base_prefix)))
    vm.env = tools_env(install, shim_path, image)
    return vm


def tools_env(install, shim_path: Path, image: GuestImage) -> dict[str, str]:
    """What a script in the guest needs: the same SPDK and shim (built, and not
    to be rebuilt on the read-only root), the image's modules, writable HOME."""
    return {"SPDK_PY_GUEST": "1", "SPDK_DIR": str(install.root), "SPDK_PY_SHIM": str(shim_path),
            "SPDK_PY_GUEST_MODULES": str(image.modules), "SPDK_PY_GUEST_KERNEL": image.release,
            "SPDK_PY_GUEST_NVME_IMAGE": f"{OUT_DIR}/{NVME_IMAGE}", "HOME": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}



