"""The passthru vbdev in Python: a port of SPDK's external passthru example
(vbdev_passthru.c), on spdk_py.vbdev.

In python mode the port's Python sees every I/O and sends it on to the base
(vbdev_passthru_submit_request); its completions stay in C. In hybrid mode
C forwards every I/O and Python sees only what the policy routes to it.
The rest of the reference (insert_name, register, examine, hot-remove,
destruct, config_json) is spdk_py.vbdev's registry, which every module built
on the port shares; its RPCs are spdk_py.passthru_rpc's.

A module built on the port subclasses PassthruVbdev and hooks what it needs:
it does not inherit the port's every-I/O hook (only hooks it defines itself
enter Python), nor its advertised memory domains.
"""

from __future__ import annotations

from typing import Any, Optional

from spdk_py.vbdev import Vbdev

__all__ = ["PassthruVbdev", "INFO_KEY"]

INFO_KEY = "python_passthru"


class PassthruVbdev(Vbdev):
    _framework = "port"  # its hooks are the port's own, not a subclass's
    product_name = "passthru"
    create_method = "bdev_python_passthru_create"
    # The port never touches the data: any memory domain the base takes is ours.
    memory_domains = True

    # vbdev_passthru_submit_request: python mode sees every I/O, and sends it on.
    def submit_request(self, io: int, io_type: int) -> None:
        return None

    # vbdev_passthru_dump_info_json
    def dump_info(self) -> Optional[tuple[str, dict[str, Any]]]:
        return INFO_KEY, {"name": self.name, "base_bdev_name": self.base_name, "mode": self.mode,
                          "policy": self.policy.to_json()}
