"""Real SPDK processes: start, talk JSON-RPC, stop, clean up (tests, demo, bench).

    proc = SpdkProcess(install).start()          # spdk_tgt -u -s 256 -m 0x1 -r <own socket>
    proc.rpc("bdev_malloc_create", name="M0", num_blocks=2048, block_size=512)
    proc.stop()                                  # SIGTERM, then SIGKILL; hugepage files removed

    rc, out = run_app(install, "bdevperf", config, ["-q", "32", "-o", "4096", ...])
    result = parse_bdevperf(out)

Every process gets ``-u`` (no PCI: the machine's disk and NIC are PCI devices), its own
RPC socket in a private directory, and no CPU core locks where the SPDK has them
(processes here share cores on purpose). Extra environment (``LD_PRELOAD`` for the shim, ...) goes
into the environment of the SPDK binary itself, never of a wrapper.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from spdk_py.tools.hugepages import cleanup_pid
from spdk_py.tools.shim import ROOT
from spdk_py.tools.spdk_install import SpdkInstall

DEFAULT_MEM_MB = 256
DEFAULT_CPUMASK = "0x1"
# In the test guest (QEMU TCG) an app starts several times slower: v26.05's
# spdk_tgt took 25 s from exec to Python there, 16 of them in DPDK's EAL.
START_TIMEOUT = 120.0 if os.environ.get("SPDK_PY_GUEST") else 30.0
# How long stop() waits after SIGTERM before SIGKILL: in the TCG guest, an
# NVMe/TCP host took up to 15 s to exit cleanly on a loaded machine.
STOP_TIMEOUT = 60.0 if os.environ.get("SPDK_PY_GUEST") else 10.0
RPC_TIMEOUT = 60.0
LOG_TAIL_LINES = 40


class SpdkProcessError(RuntimeError):
    """An SPDK process failed to start, died, or stopped answering; has the log tail."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid


class RpcError(Exception):
    """A JSON-RPC error response: ``code`` and ``message`` as SPDK sent them."""

    def __init__(self, method: str, code: int, message: str, data: Any = None):
        super().__init__(f"{method}: JSON-RPC error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def parse_client_error(text: str) -> dict | None:
    """The error object inside the PyPI client's JSONRPCException message, if any.

    spdk.rpc.client.JSONRPCClient.call() raises JSONRPCException whose only attribute,
    ``message``, is text ending in "Got JSON-RPC error response\\nresponse:\\n<error json>".
    Connection failures and timeouts use the same exception without that part.
    """
    marker = "Got JSON-RPC error response\nresponse:\n"
    index = text.rfind(marker)
    if index < 0:
        return None
    try:
        error = json.loads(text[index + len(marker):])
    except ValueError:
        return None
    return error if isinstance(error, dict) and "code" in error else None


def _child_env(install: SpdkInstall, env: Mapping[str, str] | None) -> dict[str, str]:
    # The SPDK libraries on LD_LIBRARY_PATH, then the caller's variables (LD_PRELOAD, ...).
    child = install.env()
    if env:
        for key, value in env.items():
            if key == "LD_LIBRARY_PATH":
                value = ":".join(p for p in (child.get(key), value) if p)
            child[key] = value
    return child


def _app_cmd(install: SpdkInstall, app: str, workdir: Path, mem_mb: int, cpumask: str,
             config: Mapping | str | os.PathLike | None, args: Sequence[Any],
             framework: bool = True, pci: bool = False,
             zcopy: bool | None = None) -> list[str]:
    # The common SPDK app arguments: no PCI, memory, cores, a private RPC socket, config.
    # An app outside SPDK's app framework (the NVMe perf example) takes its own.
    # zcopy: bdevperf's zero-copy on or off, in this release's spelling.
    if zcopy is not None:
        args = [*args, *install.bdevperf_zcopy(zcopy)]
    if not framework:
        return [str(install.bin(app))] + [str(a) for a in args]
    cmd = [str(install.bin(app))] + ([] if pci else ["-u"]) + install.harness_args() + [
        "-s", str(mem_mb), "-m", cpumask, "-r", str(workdir / "rpc.sock")]
    if config is not None:
        if isinstance(config, Mapping):
            path = workdir / "config.json"
            path.write_text(json.dumps(config, indent=2))
            config = path
        cmd += ["--json", str(config)]
    return cmd + [str(a) for a in args]


class SpdkProcess:
    """One SPDK app-framework process (spdk_tgt by default) with its own RPC socket."""

    _count = 0

    def __init__(self, install: SpdkInstall, app: str = "spdk_tgt", *,
                 mem_mb: int = DEFAULT_MEM_MB, cpumask: str = DEFAULT_CPUMASK,
                 config: Mapping | str | os.PathLike | None = None,
                 wait_for_rpc: bool = False, args: Sequence[Any] = (),
                 env: Mapping[str, str] | None = None, log_dir: str | os.PathLike | None = None,
                 start_timeout: float = START_TIMEOUT, rpc_timeout: float = RPC_TIMEOUT,
                 pci: bool = False, zcopy: bool | None = None):
        install.bin(app)  # fail before creating anything if the app is not built
        SpdkProcess._count += 1
        self.install = install
        self.app = app
        self.start_timeout = start_timeout
        self.rpc_timeout = rpc_timeout
        # Short private dir: a unix socket path must fit in 108 bytes.
        self.workdir = Path(tempfile.mkdtemp(prefix=f"spdk_py-{app}-", dir="/tmp"))
        self.rpc_socket = self.workdir / "rpc.sock"
        log_dir = Path(log_dir) if log_dir is not None else self.workdir
        self.log_path = log_dir / f"{app}.{SpdkProcess._count}.log"
        extra = ["--wait-for-rpc"] if wait_for_rpc else []
        self.cmd = _app_cmd(install, app, self.workdir, mem_mb, cpumask, config,
                            [*extra, *args], pci=pci, zcopy=zcopy)
        self.env = _child_env(install, env)
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self._client = None
        self._log_cache: str | None = None

    def __repr__(self) -> str:
        pid = self.proc.pid if self.proc else None
        return f"<SpdkProcess {self.app} pid={pid} rc={self.returncode} {self.rpc_socket}>"

    def __enter__(self) -> "SpdkProcess":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "SpdkProcess":
        """Starts the app and waits until its RPC socket answers spdk_get_version."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            log.write(f"# {' '.join(self.cmd)}\n".encode())
            if self.extra_env:
                log.write(f"# env: {self.extra_env}\n".encode())
            log.flush()
            # cwd next to the log: a core dump lands there, not in the source tree.
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.log_path.parent)
        deadline = time.monotonic() + self.start_timeout
        last_error = "socket not created"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._finish()
                raise SpdkProcessError(f"{self.app} exited with {self.returncode} before its "
                                       f"RPC server answered; log {self.log_path}:\n"
                                       f"{_tail(self.log_text())}", pid=self.pid)
            if self.rpc_socket.exists():
                try:
                    self.rpc_raw("spdk_get_version", timeout=2.0)
                    return self
                except (SpdkProcessError, OSError) as exc:
                    last_error = str(exc)
                    self._close_client()
            time.sleep(0.05)
        self.stop()
        raise SpdkProcessError(f"{self.app} did not answer spdk_get_version within "
                               f"{self.start_timeout} s ({last_error}); log {self.log_path}:\n"
                               f"{_tail(self.log_text())}")

    def _connect(self, timeout: float):
        from spdk.rpc.client import JSONRPCClient  # the PyPI `spdk` package

        if self._client is None:
            self._client = JSONRPCClient(str(self.rpc_socket), timeout=timeout)
        self._client.timeout = timeout
        return self._client

    def _close_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None

    def rpc_raw(self, method: str, params: Mapping[str, Any] | None = None, *,
                timeout: float | None = None) -> Any:
        """Calls ``method`` with a params object (or none); returns the result.

        Raises RpcError for a JSON-RPC error response and SpdkProcessError when the
        process cannot be reached (with its exit status and log tail).
        """
        from spdk.rpc.client import JSONRPCException

        if self.proc is None or self.returncode is not None:
            raise SpdkProcessError(f"{self!r} is not running")
        try:
            client = self._connect(self.rpc_timeout if timeout is None else timeout)
            # call() adds keys to params on error: give it a copy.
            return client.call(method, dict(params) if params is not None else None)
        except JSONRPCException as exc:
            text = getattr(exc, "message", str(exc))
            error = parse_client_error(text)
            if error is not None:
                raise RpcError(method, error["code"], error.get("message", ""),
                               error.get("data")) from None
            self._close_client()
            state = "running" if self.alive() else f"exited with {self.proc.poll()}"
            raise SpdkProcessError(f"RPC {method} to {self.app} failed ({state}): {text}\n"
                                   f"log {self.log_path}:\n{_tail(self.log_text())}") from None

    def rpc(self, method: str, **params: Any) -> Any:
        """Calls ``method`` with keyword params (None values are dropped)."""
        return self.rpc_raw(method, {k: v for k, v in params.items() if v is not None})

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait ``timeout`` s, SIGKILL; removes hugepage files; returns the exit code.

        Safe to call more than once; returns None if the process never started.
        """
        if self.proc is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            return None
        if self.returncode is None:
            self._close_client()
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self._finish()
        return self.returncode

    def _finish(self) -> None:
        # Record the exit, free what the process left behind, keep its log text.
        self.returncode = self.proc.wait()
        cleanup_pid(self.proc.pid)
        self._log_cache = self._read_log()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_text(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self._log_cache if self._log_cache is not None else self._read_log()


def run_app(install: SpdkInstall, app: str, config: Mapping | None = None,
            args: Sequence[Any] = (), *, env: Mapping[str, str] | None = None,
            timeout: float = 60.0, mem_mb: int = DEFAULT_MEM_MB,
            cpumask: str = DEFAULT_CPUMASK,
            cwd: str | os.PathLike | None = None,
            app_args: bool = True, wrap: Sequence[str] = (),
            zcopy: bool | None = None, pci: bool = False) -> tuple[int, str]:
    """Runs a one-shot SPDK app (bdevperf, spdk_dd) to completion: (returncode, output).

    app_args=False: not an app-framework app (the NVMe perf example); args are all it gets.
    zcopy: bdevperf's zero-copy on or off (None: the release's default).
    pci: let the app see PCI devices (no -u), for a real NVMe controller.
    wrap: a command the app runs under (e.g. perf record ... --); LD_PRELOAD then
    applies to the SPDK binary only, not to the wrapper.

    ``config`` is a JSON config dict (written to a temp file, passed as --json). On
    timeout the app is killed, its hugepage files removed, and SpdkProcessError raised
    with the output tail. ``cwd`` (default: the temp dir, e.g. /tmp) is where a core
    dump would land.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"spdk_py-{app}-", dir="/tmp"))
    try:
        cmd = _app_cmd(install, app, workdir, mem_mb, cpumask, config, args, framework=app_args,
                       zcopy=zcopy, pci=pci)
        child_env = _child_env(install, env)
        if wrap:
            child_env["SPDK_PY_APP_PRELOAD"] = child_env.pop("LD_PRELOAD", "")
            cmd = [*wrap, "bash", "-c", 'LD_PRELOAD="$SPDK_PY_APP_PRELOAD" exec "$@"', "_", *cmd]
        proc = subprocess.Popen(cmd, env=child_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                text=True, errors="replace",
                                cwd=cwd if cwd is not None else tempfile.gettempdir())
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise SpdkProcessError(f"{app} did not finish within {timeout} s and was killed: "
                                   f"{' '.join(cmd)}\n{_tail(output)}", pid=proc.pid) from None
        finally:
            proc.wait()
            cleanup_pid(proc.pid)
        return proc.returncode, output
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def rpc_py(install: SpdkInstall, socket: str | os.PathLike, *args: Any,
           plugins: str | None = None, client: Sequence[str] = (),
           timeout: float = 30.0) -> subprocess.CompletedProcess:
    """SPDK's own scripts/rpc.py (or another rpc.py command: client) against the
    target at socket, with spdk_py's rpc.py plugin (and plugins' commands).

    The tree's rpc.py imports the tree's own python package first: a venv's
    PyPI ``spdk`` is another release's, and SPDK 24.01's rpc.py puts its own
    package after the installed ones.
    """
    paths = [] if client else [str(install.root / "python")]
    env = dict(os.environ, PYTHONPATH=":".join([*paths, str(ROOT)]))
    if plugins:
        env["SPDK_PY_PLUGINS"] = plugins
    cmd = list(client) or [sys.executable, str(install.rpc_py)]
    return subprocess.run([*cmd, "-s", str(socket), "--plugin", "spdk_py.tools.rpc_plugin",
                           *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------------------
# bdevperf output.


@dataclasses.dataclass
class BdevperfStats:
    """One row of bdevperf's summary: a job (named after its bdev) or "Total"."""

    name: str
    iops: float
    mib_per_s: float
    fail_per_s: float = 0.0
    timeout_per_s: float = 0.0
    extra: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BdevperfResult:
    jobs: list[BdevperfStats]
    total: BdevperfStats | None

    @property
    def failed(self) -> bool:
        rows = self.jobs + ([self.total] if self.total else [])
        return any(r.fail_per_s or r.timeout_per_s for r in rows)


# SPDK 20.07: " Malloc0             :  123456.78 IOPS     482.25 MiB/s", and only when
# there were failures, under it: "                      :       1.50 Fail/s     0.00 TO/s".
_ROW_2007 = re.compile(r"^\s*(?P<name>\S.*?)\s*:\s*(?P<iops>[\d.]+) IOPS\s+"
                       r"(?P<mib>[\d.]+) MiB/s\s*$")
_FAIL_2007 = re.compile(r"^\s*:\s*(?P<fail>[\d.]+) Fail/s\s+(?P<to>[\d.]+) TO/s\s*$")
# Newer SPDK prints a table under a header
# " Device Information : runtime(s) IOPS MiB/s Fail/s TO/s Average min max";
# its Total row leaves the runtime column blank, so values align from the right.
_HEADER = re.compile(r"^\s*Device Information\s*:\s*(?P<cols>.*\S)\s*$")
_NUMBER = r"-?\d+(?:\.\d+)?"
_ROW_TABLE = re.compile(rf"^\s*(?P<name>\S.*?)\s*:\s*(?P<values>{_NUMBER}(?:\s+{_NUMBER})*)\s*$")
_TABLE_FIELDS = {"IOPS": "iops", "MiB/s": "mib_per_s", "Fail/s": "fail_per_s",
                 "TO/s": "timeout_per_s"}


def _table_row(name: str, columns: list[str], values: list[float]) -> BdevperfStats:
    named = dict(zip(columns[len(columns) - len(values):], values))
    known = {field: named.pop(col, 0.0) for col, field in _TABLE_FIELDS.items()}
    return BdevperfStats(name=name, extra=named, **known)


def parse_bdevperf(output: str) -> BdevperfResult:
    """The last summary bdevperf printed: per-job rows and the Total row.

    Periodic output (-S) repeats the summary; the final one wins. Fail/TO rates are 0.0
    when the version printed none (20.07 prints them only when non-zero).
    """
    result = BdevperfResult(jobs=[], total=None)
    jobs: list[BdevperfStats] = []
    last: BdevperfStats | None = None
    columns: list[str] | None = None
    for raw in output.split("\n"):
        # "\r" starts bdevperf's lines (it redraws in place): keep the last segment.
        segments = [seg for seg in raw.split("\r") if seg.strip()]
        line = segments[-1] if segments else ""
        header = _HEADER.match(line)
        if header:
            columns = header.group("cols").split()
            continue
        row = None
        match = _ROW_2007.match(line)
        if match:
            row = BdevperfStats(match.group("name"), float(match.group("iops")),
                                float(match.group("mib")))
        elif (match := _FAIL_2007.match(line)) and last is not None:
            last.fail_per_s = float(match.group("fail"))
            last.timeout_per_s = float(match.group("to"))
            continue
        elif columns and (match := _ROW_TABLE.match(line)):
            values = [float(v) for v in match.group("values").split()]
            if len(values) <= len(columns):
                row = _table_row(match.group("name"), columns, values)
        if row is None:
            continue
        last = row
        if row.name == "Total":
            result = BdevperfResult(jobs=jobs, total=row)
            jobs = []
        else:
            jobs.append(row)
    if result.total is None and jobs:
        result = BdevperfResult(jobs=jobs, total=None)
    return result
