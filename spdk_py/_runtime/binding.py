"""The binding layer: the one object that holds the compiled ffi and lib.

Inside an SPDK target the shim's embedded interpreter installs them at start;
anywhere else (tests, the CLI) there is no lib, and asking for it says so.
Only spdk_py._runtime uses it: the public modules never touch lib.
"""

from __future__ import annotations

from typing import Any

from spdk_py._runtime.errors import NotInTarget


class Binding:
    def __init__(self) -> None:
        self.ffi: Any = None
        self.lib: Any = None

    def install(self, ffi: Any, lib: Any) -> None:
        if self.lib is not None:
            raise RuntimeError("spdk_py binding installed twice")
        self.ffi = ffi
        self.lib = lib

    @property
    def installed(self) -> bool:
        return self.lib is not None

    def require(self) -> tuple[Any, Any]:
        """(ffi, lib), or NotInTarget with what to do instead."""
        if self.lib is None:
            raise NotInTarget(
                "spdk_py's SPDK binding is only available inside an SPDK application "
                "started with the shim (spdk-py run)"
            )
        return self.ffi, self.lib


binding = Binding()
