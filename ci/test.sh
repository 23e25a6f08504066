#!/usr/bin/env bash
# The test command: set up whatever is missing, then run every test against real SPDK.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
exec .venv/bin/python -m pytest tests "$@"
