"""NVMe commands as a real host sends them: bdev_nvme_send_cmd on an SPDK
process that attached a controller (over NVMe/TCP: each command goes through
the target's NVMe-oF layer to the namespace's bdev as any host's would), or
spdk_py's bdev_python_nvme_send_cmd, the same to one bdev (method=BDEV).
"""

import base64
import struct

READ, WRITE, COMPARE, COPY = 0x02, 0x01, 0x05, 0x19
IDENTIFY = 0x06            # admin
VERIFY = 0x0C              # no data; SPDK's NVMe-oF target passes it through
CNS_CONTROLLER = 1
# Status code types and codes (NVMe base specification).
SUCCESS = (0, 0x00)
COMPARE_FAILURE = (2, 0x85)
CONTROLLER = "bdev_nvme_send_cmd"     # name: a controller
BDEV = "bdev_python_nvme_send_cmd"    # name: a bdev

def _b64(data):
    return base64.urlsafe_b64encode(data).decode()


def sqe(opcode, nsid, cdw10, cdw11, cdw12):
    """A 64-byte submission queue entry: CDW0 (opcode), NSID, CDW10-12."""
    return struct.pack("<BBHI32s6I", opcode, 0, 0, nsid, bytes(32), cdw10, cdw11, cdw12, 0, 0, 0)


def submit(initiator, name, cmd, cmd_type="io", data=None, read_len=None, method=CONTROLLER):
    """((status code type, status code), data read) of one command."""
    params = {"name": name, "cmd_type": cmd_type, "cmdbuf": _b64(cmd)}
    if read_len is None:
        params.update(data_direction="h2c", data=_b64(data or b""))
    else:
        params.update(data_direction="c2h", data_len=read_len)
    answer = initiator.rpc_raw(method, params)
    # The completion queue entry's status field: phase, SC (8 bits), SCT (3 bits).
    (word,) = struct.unpack_from("<H", base64.urlsafe_b64decode(answer["cpl"]), 14)
    got = base64.urlsafe_b64decode(answer["data"]) if "data" in answer else None
    return ((word >> 9) & 0x7, (word >> 1) & 0xff), got


def command(initiator, ctrlr, opcode, nsid, lba, cdw12, data=None, read_len=None,
            method=CONTROLLER):
    """One I/O command on lba (CDW10-11)."""
    return submit(initiator, ctrlr, sqe(opcode, nsid, lba & 0xffffffff, lba >> 32, cdw12),
                  data=data, read_len=read_len, method=method)


def identify_controller(initiator, name, method=CONTROLLER):
    """(status, the 4096-byte Identify Controller data structure)."""
    return submit(initiator, name, sqe(IDENTIFY, 0, CNS_CONTROLLER, 0, 0), "admin",
                  read_len=4096, method=method)


def serial_and_model(identify_data):
    """The SN (bytes 4-23) and MN (24-63) fields, as text."""
    return identify_data[4:24].decode().strip(), identify_data[24:64].decode().strip()


def write(initiator, ctrlr, nsid, lba, data, block_size, method=CONTROLLER):
    return command(initiator, ctrlr, WRITE, nsid, lba, len(data) // block_size - 1, data,
                   method=method)[0]


def read(initiator, ctrlr, nsid, lba, blocks, block_size, method=CONTROLLER):
    status, data = command(initiator, ctrlr, READ, nsid, lba, blocks - 1,
                           read_len=blocks * block_size, method=method)
    assert status == SUCCESS, status
    return data


def compare(initiator, ctrlr, nsid, lba, data, block_size):
    return command(initiator, ctrlr, COMPARE, nsid, lba, len(data) // block_size - 1, data)[0]


def copy(initiator, ctrlr, nsid, dest_lba, src_lba, blocks):
    """Simple Copy of one source range (descriptor format 0, NR 0) to dest_lba."""
    # struct spdk_nvme_scc_source_range: reserved, SLBA, NLB (0-based),
    # reserved, and end-to-end protection fields: 32 bytes.
    source = struct.pack("<QQHHIIHH", 0, src_lba, blocks - 1, 0, 0, 0, 0, 0)
    return command(initiator, ctrlr, COPY, nsid, dest_lba, 0, source)[0]
