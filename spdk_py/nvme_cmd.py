"""NVMe commands sent to a bdev: an NVMe namespace, or a vbdev that forwards
NVMe passthrough (NVME_ADMIN, NVME_IO) to one, as SPDK's bdev_nvme_send_cmd
sends them to a controller.

    nvme_cmd.send("PT0", cmd, done, data_len=4096, admin=True)
    # done(rc, completion): rc a negative errno if it was not sent,
    # completion.sct/.sc/.cdw0 and .data (the bytes read) if it was

The RPC `bdev_python_nvme_send_cmd` takes the parameters of SPDK's
`bdev_nvme_send_cmd` (the command and data base64url-encoded) with a bdev
`name`, and answers the same way (`cpl`, `data`) plus the status read out.
"""

import base64
import dataclasses
import errno
import struct

from spdk_py import jsonrpc
from spdk_py._runtime.binding import binding
from spdk_py.jsonrpc import RpcError, rpc_method
from spdk_py._runtime.waiters import finished, waiter

CMD_BYTES = 64
# The most data one command here moves (SPDK's bdev_nvme_send_cmd has no
# limit of its own; the device's MDTS applies below it).
MAX_DATA = 1 << 20


@dataclasses.dataclass
class Completion:
    cdw0: int
    sct: int
    sc: int
    data: bytes

    @property
    def ok(self):
        return self.sct == 0 and self.sc == 0

    def cpl(self):
        """The 16-byte NVMe completion entry (cdw0 and the status field)."""
        status = (self.sc & 0xFF) << 1 | (self.sct & 0x7) << 9
        return struct.pack("<IIIHH", self.cdw0, 0, 0, 0, status)


def send(bdev_name, cmd, done, data=None, data_len=0, admin=False):
    """Send one NVMe command (64 bytes) to a bdev, from this SPDK thread.

    data: the bytes to send (host to controller); else data_len bytes are
    read back into completion.data. done(rc, completion) runs once, on this
    thread: rc is 0 when the command completed (whatever its NVMe status),
    else a negative errno and completion None (-ENODEV: no such bdev;
    -ENOTSUP: it takes no such command).
    """
    ffi, lib = binding.require()
    if len(cmd) != CMD_BYTES:
        raise ValueError("an NVMe command is %d bytes, not %d" % (CMD_BYTES, len(cmd)))
    nbytes = len(data) if data is not None else data_len
    c = lib.spdk_py_nvme_cmd_alloc(nbytes)
    if c == ffi.NULL:
        raise MemoryError("no DMA memory for %d bytes" % nbytes)
    ffi.memmove(c.cmd, bytes(cmd), CMD_BYTES)
    c.admin = admin
    if data is not None:
        ffi.memmove(c.buf, bytes(data), nbytes)

    def completed(rc):
        try:
            if rc:
                done(rc, None)
            else:
                read = b"" if data is not None else ffi.unpack(ffi.cast("char *", c.buf), nbytes)
                done(0, Completion(c.cdw0, c.sct, c.sc, read))
        finally:
            lib.spdk_py_nvme_cmd_free(c)
    cb_arg = waiter(completed)
    rc = lib.spdk_py_nvme_cmd_send(c, bdev_name.encode(), cb_arg)
    if rc:
        finished(int(ffi.cast("uintptr_t", cb_arg)), rc)


def _b64decode(key, text):
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError:
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s is not base64url" % key) from None


def _b64encode(data):
    return base64.urlsafe_b64encode(data).decode()


def _choice(params, key, choices):
    if params[key] not in choices:
        raise RpcError(jsonrpc.INVALID_PARAMS, "%s must be %s, not %r"
                       % (key, " or ".join(choices), params[key]))
    return params[key]


def _decode(params):
    """(cmd, data, data_len, admin) from the RPC's params, or RpcError naming the problem."""
    admin = _choice(params, "cmd_type", ("admin", "io")) == "admin"
    direction = _choice(params, "data_direction", ("c2h", "h2c"))
    cmd = _b64decode("cmdbuf", params["cmdbuf"])
    if len(cmd) != CMD_BYTES:
        raise RpcError(jsonrpc.INVALID_PARAMS, "cmdbuf must be %d bytes, not %d"
                       % (CMD_BYTES, len(cmd)))
    data, data_len = None, params.get("data_len", 0)
    if direction == "h2c":
        if "data_len" in params:
            raise RpcError(jsonrpc.INVALID_PARAMS, "data_len is for c2h; h2c sends data")
        data = _b64decode("data", params.get("data", ""))
    elif "data" in params:
        raise RpcError(jsonrpc.INVALID_PARAMS, "data is for h2c; c2h reads data_len bytes")
    size = len(data) if data is not None else data_len
    if not 0 <= size <= MAX_DATA:
        raise RpcError(jsonrpc.INVALID_PARAMS, "the data must be 0 to %d bytes, not %d"
                       % (MAX_DATA, size))
    return cmd, data, data_len, admin


@rpc_method("bdev_python_nvme_send_cmd",
            params={"name": str, "cmd_type": str, "data_direction": str, "cmdbuf": str},
            optional={"data": str, "data_len": int}, deferred=True,
            short={"name": "-n", "cmd_type": "-t", "data_direction": "-r", "cmdbuf": "-c",
                   "data": "-d", "data_len": "-D"})
def rpc_bdev_python_nvme_send_cmd(request, params):
    """Send one NVMe command to a bdev that takes NVMe passthrough (an NVMe
    namespace, or a vbdev forwarding to one), as bdev_nvme_send_cmd does to a
    controller. cmd_type: admin or io; data_direction: c2h (read data_len
    bytes) or h2c (send data); cmdbuf and data base64url. The answer has
    cpl and data (base64url), and sct, sc and cdw0."""
    cmd, data, data_len, admin = _decode(params)
    name = params["name"]

    def done(rc, completion):
        if rc == -errno.ENOTSUP:
            request.error(rc, "%s takes no NVMe %s commands (the bdev does not support "
                          "nvme_%s)" % (name, params["cmd_type"], params["cmd_type"]))
        elif rc == -errno.EPERM:
            request.error(rc, "%s is claimed by a module: send the command to the bdev "
                          "above it" % name)
        elif rc:
            request.error(-abs(rc), RpcError.from_errno(rc, "bdev %s" % name).message)
        else:
            request.result({"cpl": _b64encode(completion.cpl()),
                            "data": _b64encode(completion.data),
                            "sct": completion.sct, "sc": completion.sc,
                            "cdw0": completion.cdw0})
    send(name, cmd, done, data, data_len, admin)
