"""The RPC of spdk_py.nvme_cmd: bdev_python_nvme_send_cmd, SPDK's
bdev_nvme_send_cmd for one bdev instead of a controller."""

from __future__ import annotations

import base64
import errno
from typing import Optional

from spdk_py.jsonrpc import INVALID_PARAMS, Request, RpcError, check_choice, rpc_method
from spdk_py.nvme_cmd import CMD_BYTES, MAX_DATA, Completion, send

__all__ = ["rpc_bdev_python_nvme_send_cmd"]


def _b64decode(key: str, text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError:
        raise RpcError(INVALID_PARAMS, "%s is not base64url" % key) from None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _decode(params: dict) -> tuple[bytes, Optional[bytes], int, bool]:
    """(cmd, data, data_len, admin) from the RPC's params, or RpcError naming the problem."""
    admin = check_choice("cmd_type", params["cmd_type"], ("admin", "io")) == "admin"
    direction = check_choice("data_direction", params["data_direction"], ("c2h", "h2c"))
    cmd = _b64decode("cmdbuf", params["cmdbuf"])
    if len(cmd) != CMD_BYTES:
        raise RpcError(INVALID_PARAMS, "cmdbuf must be %d bytes, not %d"
                       % (CMD_BYTES, len(cmd)))
    data, data_len = None, params.get("data_len", 0)
    if direction == "h2c":
        if "data_len" in params:
            raise RpcError(INVALID_PARAMS, "data_len is for c2h; h2c sends data")
        data = _b64decode("data", params.get("data", ""))
    elif "data" in params:
        raise RpcError(INVALID_PARAMS, "data is for h2c; c2h reads data_len bytes")
    size = len(data) if data is not None else data_len
    if not 0 <= size <= MAX_DATA:
        raise RpcError(INVALID_PARAMS, "the data must be 0 to %d bytes, not %d"
                       % (MAX_DATA, size))
    return cmd, data, data_len, admin


@rpc_method("bdev_python_nvme_send_cmd",
            params={"name": str, "cmd_type": str, "data_direction": str, "cmdbuf": str},
            optional={"data": str, "data_len": int}, deferred=True,
            short={"name": "-n", "cmd_type": "-t", "data_direction": "-r", "cmdbuf": "-c",
                   "data": "-d", "data_len": "-D"})
def rpc_bdev_python_nvme_send_cmd(request: Request, params: dict) -> None:
    """Send one NVMe command to a bdev that takes NVMe passthrough (an NVMe
    namespace, or a vbdev forwarding to one), as bdev_nvme_send_cmd does to a
    controller. cmd_type: admin or io; data_direction: c2h (read data_len
    bytes) or h2c (send data); cmdbuf and data base64url. The answer has
    cpl and data (base64url), and sct, sc and cdw0."""
    cmd, data, data_len, admin = _decode(params)
    name = params["name"]

    def done(rc: int, completion: Optional[Completion]) -> None:
        if rc == -errno.ENOTSUP:
            request.error(rc, "%s takes no NVMe %s commands (the bdev does not support "
                          "nvme_%s)" % (name, params["cmd_type"], params["cmd_type"]))
        elif rc == -errno.EPERM:
            request.error(rc, "%s is claimed by a module: send the command to the bdev "
                          "above it" % name)
        elif rc or completion is None:
            request.error(-abs(rc), RpcError.from_errno(rc, "bdev %s" % name).message)
        else:
            request.result({"cpl": _b64encode(completion.cpl()),
                            "data": _b64encode(completion.data),
                            "sct": completion.sct, "sc": completion.sc,
                            "cdw0": completion.cdw0})
    send(name, cmd, done, data, data_len, admin)
