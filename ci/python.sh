# Sourced by the ci scripts: the Python spdk_py runs on and its venv.
#   PYTHON=/path/to/python3.14t ci/setup.sh    (then ci/test.sh, ci/demo.sh)
# python3 (the default) gets .venv; another one a venv of its own, named by
# its version (.venv-3.14t), so switching back and forth rebuilds nothing.
# It must be 3.11 or later, built with a shared libpython (the shim embeds
# it); a free-threaded one 3.14t or later (cffi's floor for those).
PYTHON=${PYTHON:-python3}
if ! tag=$("$PYTHON" -c 'import sys; print("%d.%d%s" % (*sys.version_info[:2], sys.abiflags))'); then
	echo "PYTHON=$PYTHON does not run" >&2
	exit 1
fi
if ! "$PYTHON" - <<'PY'
import sys, sysconfig
free = sysconfig.get_config_var("Py_GIL_DISABLED")
floor = (3, 14) if free else (3, 11)
if sys.version_info[:2] < floor:
    sys.exit("spdk_py needs Python %d.%d%s or later, not %s (%s)"
             % (*floor, "t" if free else "", sys.version.split()[0], sys.executable))
if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit("spdk_py embeds Python: %s must be built with a shared libpython "
             "(--enable-shared)" % sys.executable)
PY
then
	exit 1
fi
if [ "$PYTHON" = python3 ]; then
	VENV=.venv
else
	VENV=.venv-$tag
fi
