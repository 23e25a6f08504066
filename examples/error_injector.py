"""Example module: fail a chosen share of reads or writes in a block range.

    bdev_error_injector_create {base_bdev_name, name}
    bdev_error_injector_set {name, io_type: "read"|"write", share: 0.0-1.0,
                             lba_start, lba_end}

Python hooks only reads and writes (submit_read, submit_write): an I/O a rule
picks is completed as failed, the others are forwarded as the passthru does.
Every other I/O type never enters Python: C forwards it.
"""

import random

from spdk_py import io, passthru
from spdk_py.bdev import IoStatus, IoType
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, rpc_method


class ErrorInjector(passthru.PassthruVbdev):
    product_name = "error injector"
    create_method = "bdev_error_injector_create"

    def __init__(self, name, mode):
        super().__init__(name, mode)
        self.rules = {}      # io_type -> (share, lba_start, lba_end)
        self.injected = {}   # io_type name -> failures injected
        self.random = random.Random(0)

    def submit_read(self, bdev_io):
        return self._inject_or_forward(bdev_io, IoType.READ)

    def submit_write(self, bdev_io):
        return self._inject_or_forward(bdev_io, IoType.WRITE)

    def _inject_or_forward(self, bdev_io, io_type):
        rule = self.rules.get(io_type)
        if rule is not None:
            share, start, end = rule
            if start <= io.offset_blocks(bdev_io) < end and self.random.random() < share:
                name = io_type.name.lower()
                self.injected[name] = self.injected.get(name, 0) + 1
                io.complete(bdev_io, IoStatus.FAILED)
                return 0
        return self.forward(bdev_io, io_type)

    def config_params(self):
        params = super().config_params()
        del params["mode"], params["policy"], params["stats"]
        return params


@rpc_method("bdev_error_injector_create", params={"base_bdev_name": str, "name": str})
def bdev_error_injector_create(params):
    """Create an error injector bdev on a base bdev."""
    return passthru.create_from_rpc(params, ErrorInjector)


@rpc_method("bdev_error_injector_set", params={"name": str, "io_type": str, "share": float},
            optional={"lba_start": int, "lba_end": int})
def bdev_error_injector_set(params):
    """Fail this share of the I/Os of one type (read or write) in [lba_start, lba_end)."""
    node = passthru.existing(params["name"], ErrorInjector, "error injector")
    if params["io_type"] not in ("read", "write"):
        raise RpcError(INVALID_PARAMS, "io_type must be read or write")
    if not 0.0 <= params["share"] <= 1.0:
        raise RpcError(INVALID_PARAMS, "share must be between 0 and 1")
    end = params.get("lba_end", 2 ** 64)
    node.rules[IoType[params["io_type"].upper()]] = (params["share"],
                                                     params.get("lba_start", 0), end)
    return True


@rpc_method("bdev_error_injector_get_counts", params={"name": str})
def bdev_error_injector_get_counts(params):
    """Failures injected so far, by I/O type."""
    return passthru.existing(params["name"], ErrorInjector, "error injector").injected
