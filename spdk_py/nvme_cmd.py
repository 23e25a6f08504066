"""NVMe commands sent to a bdev: an NVMe namespace, or a vbdev that forwards
NVMe passthrough (NVME_ADMIN, NVME_IO) to one, as SPDK's bdev_nvme_send_cmd
sends them to a controller. ::

    nvme_cmd.send("PT0", cmd, done, data_len=4096, admin=True)
    # done(rc, completion): rc a negative errno if it was not sent,
    # completion.sct/.sc/.cdw0 and .data (the bytes read) if it was

The RPC `bdev_python_nvme_send_cmd` (spdk_py.nvme_cmd_rpc) takes the
parameters of SPDK's `bdev_nvme_send_cmd` (the command and data
base64url-encoded) with a bdev `name`, and answers the same way (`cpl`,
`data`) plus the status read out.

send(bdev_name, cmd, done, data=None, data_len=0, admin=False) sends one
64-byte command from this SPDK thread. data: the bytes to send (host to
controller); else data_len bytes are read back into completion.data.
done(rc, completion) runs once, on this thread: rc is 0 when the command
completed (whatever its NVMe status), else a negative errno and completion
None (-ENODEV: no such bdev; -ENOTSUP: it takes no such command; -EPERM: it
is claimed by a module).
"""

from spdk_py._runtime.nvme_cmd import CMD_BYTES, Completion, send

__all__ = ["send", "Completion", "CMD_BYTES", "MAX_DATA"]

# The most data one command here moves (SPDK's bdev_nvme_send_cmd has no
# limit of its own; the device's MDTS applies below it).
MAX_DATA = 1 << 20
