"""A checkout's name for spdk_py.examples: examples.<name> is the same module
as spdk_py.examples.<name> (saved configs and the README name them so)."""
