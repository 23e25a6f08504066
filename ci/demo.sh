#!/usr/bin/env bash
# The main job: set up whatever is missing, then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
. ci/python.sh
exec "$VENV/bin/python" -m spdk_py demo "$@"
