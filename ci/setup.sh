#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: a second run does no work.
#   SPDK (fetched and built into a cache keyed by its source hash, or $SPDK_DIR),
#   hugepages, the emulated-NVMe guest (QEMU, a Debian kernel, its initramfs),
#   the project venv (.venv; PYTHON= another interpreter: ci/python.sh) and
#   the plugin shim.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*" >&2; }

. ci/python.sh

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

say "venv ($VENV, $("$PYTHON" -c 'import sys; print(sys.version.split()[0], sys.abiflags)'))"
stamp=$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ]; then
	[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
	"$VENV/bin/python" -m pip install --quiet --upgrade pip
	"$VENV/bin/python" -m pip install --quiet -e '.[test,bench]'
	rm -f "$VENV"/.installed-*
	touch "$stamp"
fi

say "plugin shim"
"$VENV/bin/python" -m spdk_py shim build
