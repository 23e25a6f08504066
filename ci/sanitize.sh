#!/usr/bin/env bash
# The integration suite with the shim built under AddressSanitizer and
# UndefinedBehaviorSanitizer (SPDK itself stays as built): any report fails
# the SPDK process and so the test.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
export SPDK_PY_SANITIZE=address,undefined
.venv/bin/python -m spdk_py shim build
# The emulated-NVMe guest runs once, in ci/test.sh: under TCG it is the
# slowest part of the suite.
exec .venv/bin/python -m pytest tests/integration --ignore tests/integration/test_emulated_nvme.py "$@"
