"""The tools that run beside SPDK, in an ordinary Python process: find and
build SPDK, build the shim, hugepages, start SPDK processes with the Python
modules loaded, talk to them. Never imported inside a target.

Standard library only at import time (this package, cli, provision and
hugepages run before the venv exists)."""
