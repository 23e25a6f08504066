"""Fixtures for tests that run real SPDK processes.

    spdk_install  session  the SpdkInstall to test against (fails if there is none)
    hugepages     session  enough free hugepages (fails if they cannot be had)
    spdk_tgt      function a started spdk_tgt (SpdkProcess), stopped at teardown
    spdk_app      function factory: spdk_app("bdevperf", args=[...], env={...}) -> started
                           SpdkProcess; all stopped at teardown

Missing SPDK or hugepages fail the tests that need them, never skip them: a skipped
integration suite looks green. When a test fails, the logs of its SPDK processes are
attached to the report. A process that exits non-zero at teardown fails the test.
"""

from __future__ import annotations

import os

import pytest

from spdk_py.tools import hugepages as hp, provision
from spdk_py.tools.process import SpdkProcess

REPORT_LOG_LINES = 200
# The emulated-NVMe guest's own tests run inside it (test_emulated_nvme.py
# boots it and reports each): on the host there is no PCIe NVMe to give them.
collect_ignore = [] if os.environ.get("SPDK_PY_GUEST") else ["integration/guest"]
_PROCESSES = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def spdk_install() -> provision.SpdkInstall:
    try:
        return provision.locate(build=False)
    except provision.SpdkMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def hugepages() -> None:
    try:
        hp.ensure()
    except hp.HugepagesUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def spdk_app(request, spdk_install, hugepages, tmp_path):
    """Starts SPDK processes: spdk_app(app="spdk_tgt", **SpdkProcess kwargs)."""
    started: list[SpdkProcess] = []

    def start(app: str = "spdk_tgt", **kwargs) -> SpdkProcess:
        proc = SpdkProcess(spdk_install, app, log_dir=tmp_path, **kwargs)
        started.append(proc)
        request.node.stash.setdefault(_PROCESSES, []).append(proc)
        return proc.start()

    yield start
    errors = []
    # Last started, first stopped: a host (initiator) goes before its target, so
    # it does not reconnect and fail while the target shuts down.
    for proc in reversed(started):
        stopped_by_test = proc.returncode is not None
        rc = proc.stop()
        if rc not in (0, None) and not stopped_by_test:
            errors.append(f"{proc.app} (pid {proc.pid}) exited with {rc} at teardown; "
                          f"log {proc.log_path}")
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def spdk_tgt(spdk_app) -> SpdkProcess:
    return spdk_app("spdk_tgt")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Attach each SPDK process's log (tail) to the report of a failing setup/call/teardown.
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for proc in item.stash.get(_PROCESSES, []):
        lines = proc.log_text().splitlines()
        title = f"SPDK {proc.app} pid {proc.pid} log {proc.log_path}"
        if len(lines) > REPORT_LOG_LINES:
            title += f" (last {REPORT_LOG_LINES} of {len(lines)} lines)"
        report.sections.append((title, "\n".join(lines[-REPORT_LOG_LINES:])))
