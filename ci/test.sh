#!/usr/bin/env bash
# The test command: set up whatever is missing, run every test against real
# SPDK, then the integration tests again with the shim under ASan and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
. ci/python.sh
"$VENV/bin/python" -m pytest tests --durations=15 "$@"
exec ci/sanitize.sh "$@"
