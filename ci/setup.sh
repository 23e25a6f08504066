#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: a second run does no work.
#   SPDK (fetched and built into a cache keyed by its source hash, or $SPDK_DIR),
#   hugepages, the emulated-NVMe guest (QEMU, a Debian kernel, its initramfs),
#   the project venv (.venv) and the plugin shim.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*" >&2; }

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys, sysconfig; sys.exit(not sysconfig.get_config_var("Py_ENABLE_SHARED"))'; then
	echo "spdk_py embeds Python: $PYTHON must be built with a shared libpython (--enable-shared)" >&2
	exit 1
fi

# Debian's own python3 has its venv module and its headers (the shim embeds
# Python) in packages of their own.
if [ "$("$PYTHON" -c 'import sys; print(sys.base_prefix)')" = /usr ]; then
	"$PYTHON" -c 'from spdk_py.tools import debian; debian.ensure(("python3-venv", "python3-dev"), why="the venv and the shim")'
fi

say "SPDK"
"$PYTHON" -m spdk_py spdk build

say "hugepages"
"$PYTHON" -m spdk_py hugepages setup

say "emulated-NVMe guest"
"$PYTHON" -m spdk_py guest setup

say "venv (.venv)"
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ]; then
	[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
	.venv/bin/python -m pip install --quiet --upgrade pip
	.venv/bin/python -m pip install --quiet -e '.[test,bench]'
	rm -f .venv/.installed-*
	touch "$stamp"
fi

say "plugin shim"
.venv/bin/python -m spdk_py shim build
