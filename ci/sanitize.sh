#!/usr/bin/env bash
# The integration suite with the shim built under AddressSanitizer and
# UndefinedBehaviorSanitizer (SPDK itself stays as built): any report fails
# the SPDK process and so the test.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
. ci/python.sh
export SPDK_PY_SANITIZE=address,undefined
"$VENV/bin/python" -m spdk_py shim build
# Run once, in ci/test.sh: the emulated-NVMe guest (under TCG the slowest
# part of the suite); the S3 and key-value examples and the installed wheel,
# whose time goes to their servers and pip, over C paths the other tests
# run under the sanitizers too (a disk's kept I/O, async hooks, sockets).
exec "$VENV/bin/python" -m pytest tests/integration --durations=15 \
	--ignore tests/integration/test_emulated_nvme.py --ignore tests/integration/test_s3_disk.py \
	--ignore tests/integration/test_kv_policy.py \
	--ignore tests/integration/test_installed_package.py "$@"
