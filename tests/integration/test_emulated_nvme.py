"""Real NVMe through SPDK's userspace PCIe driver: QEMU's emulated NVMe SSD, in
a guest that runs this machine's own root read-only (the same SPDK build,
shim, venv and project). The guest runs tests/integration/guest/ once, on its
own PCI bus; each test there is one test here, with its outcome and output.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from spdk_py.tools import guest, guest_image
from spdk_py.tools.shim import ROOT

GUEST_TESTS = "tests/integration/guest"
GUEST_TIMEOUT = 1800


def guest_test_ids():
    """The guest's test ids, as pytest collects them (no SPDK needed for that)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", GUEST_TESTS], cwd=ROOT,
                         env=dict(os.environ, SPDK_PY_GUEST="1"), capture_output=True,
                         text=True)
    ids = [line.split("/")[-1] for line in out.stdout.splitlines() if "::" in line]
    assert ids, "no guest tests collected:\n" + out.stdout + out.stderr
    return ids


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", guest_test_ids())


def junit_outcomes(path):
    """{test id: (outcome, detail)} from the guest's JUnit report."""
    found = {}
    for case in ElementTree.parse(path).iter("testcase"):
        module = case.get("classname", "").split(".")[-1]
        outcome, detail = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome = kind
                detail = (element.get("message") or "") + "\n" + (element.text or "")
        found["%s.py::%s" % (module, case.get("name"))] = (outcome, detail)
    return found


@pytest.fixture(scope="module")
def guest_results(spdk_install, shim_path, tmp_path_factory):
    image = guest_image.prepare()
    workdir = tmp_path_factory.mktemp("guest")
    vm = guest.for_tools(image, workdir, spdk_install, shim_path)
    if spdk_install.arch == "native" and vm.choose_accel() == "tcg":
        pytest.skip("SPDK at %s is built for this CPU (-march=native) and KVM does not boot "
                    "a guest here: QEMU TCG's CPU lacks some of this host's instructions "
                    "(configure SPDK --target-arch=haswell to run these tests)"
                    % spdk_install.root)
    out = guest_image.OUT_DIR
    status = vm.run(vm.script("%s -m pytest %s -p no:cacheprovider -rA --junitxml=%s/junit.xml "
                              "> %s/pytest.log 2>&1" % (sys.executable, GUEST_TESTS, out, out)),
                    timeout=GUEST_TIMEOUT)
    log = (vm.out / "pytest.log").read_text(errors="replace")
    print(log[-4000:])
    junit = vm.out / "junit.xml"
    assert junit.exists(), "the guest's pytest wrote no report (exit %d):\n%s" % (status, log[-4000:])
    return junit_outcomes(junit), status, log


def test_in_guest(guest_results, case):
    outcomes, status, log = guest_results
    outcome, detail = outcomes.get(case, ("not run", "the guest's report has no %s:\n%s"
                                          % (case, log[-3000:])))
    if outcome == "skipped":  # a feature this SPDK lacks, named by the guest's test
        pytest.skip("in the guest: " + detail.strip().splitlines()[0])
    assert outcome == "passed", "%s in the guest: %s" % (outcome, detail)
