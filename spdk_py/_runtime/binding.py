"""The binding layer: the one object that holds the compiled ffi and lib.

Inside an SPDK target the shim's embedded interpreter installs them at start;
anywhere else (tests, the CLI) there is no lib, and asking for it says so.
"""


class NotInTarget(RuntimeError):
    """Raised when code that needs SPDK runs outside an SPDK target."""


class Binding:
    def __init__(self):
        self.ffi = None
        self.lib = None

    def install(self, ffi, lib):
        if self.lib is not None:
            raise RuntimeError("spdk_py binding installed twice")
        self.ffi = ffi
        self.lib = lib

    @property
    def installed(self):
        return self.lib is not None

    def require(self):
        """(ffi, lib), or NotInTarget with what to do instead."""
        if self.lib is None:
            raise NotInTarget(
                "spdk_py's SPDK binding is only available inside an SPDK application "
                "started with the shim (spdk-py run)"
            )
        return self.ffi, self.lib


binding = Binding()
