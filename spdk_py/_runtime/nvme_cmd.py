"""One NVMe command sent to a bdev from Python (spdk_py.nvme_cmd
documents it): C sends it on the calling thread and hands the completion
back."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any, Callable, Optional

from spdk_py._runtime import completion
from spdk_py._runtime.binding import binding

CMD_BYTES = 64


@dataclasses.dataclass
class Completion:
    """An NVMe command's completion: cdw0, the status code type and code,
    and the data read (empty for a command that sent data)."""

    cdw0: int
    sct: int
    sc: int
    data: bytes

    @property
    def ok(self) -> bool:
        return self.sct == 0 and self.sc == 0

    def cpl(self) -> bytes:
        """The 16-byte NVMe completion entry (cdw0 and the status field)."""
        status = (self.sc & 0xFF) << 1 | (self.sct & 0x7) << 9
        return struct.pack("<IIIHH", self.cdw0, 0, 0, 0, status)


Done = Callable[[int, Optional[Completion]], Any]


def send(bdev_name: str, cmd: bytes, done: Done, data: Optional[bytes] = None,
         data_len: int = 0, admin: bool = False) -> None:
    """See spdk_py.nvme_cmd.send."""
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

    def completed(future: Any) -> None:
        rc = future.result()
        try:
            if rc:
                done(rc, None)
            else:
                read = b"" if data is not None else ffi.unpack(ffi.cast("char *", c.buf), nbytes)
                done(0, Completion(c.cdw0, c.sct, c.sc, read))
        finally:
            lib.spdk_py_nvme_cmd_free(c)
    completion.call(lib.spdk_py_nvme_cmd_send, c, bdev_name.encode()) \
        .add_done_callback(completed)
