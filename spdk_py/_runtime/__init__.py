"""The embedded runtime: what the shim's interpreter runs inside the SPDK
process, on reactors and the app thread. Nothing here may block. It holds the
compiled binding (lib) and lands every callback from C. Not for module
authors: the public API (spdk_py.bdev, io, vbdev, passthru, jsonrpc, log) is."""
