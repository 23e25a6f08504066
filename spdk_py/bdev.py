"""Names for spdk/bdev.h's I/O types, I/O statuses and bdev events.

The values are SPDK's; `check_against(lib)` confirms them against the compiled
headers when the host starts, so a mismatch stops the target at init instead
of misrouting I/O. IoType names every release's types; `has_io_type(lib, t)`
says whether the SPDK the shim was built for has t.
"""

import enum


class IoType(enum.IntEnum):
    INVALID = 0
    READ = 1
    WRITE = 2
    UNMAP = 3
    FLUSH = 4
    RESET = 5
    NVME_ADMIN = 6
    NVME_IO = 7
    NVME_IO_MD = 8
    WRITE_ZEROES = 9
    ZCOPY = 10
    GET_ZONE_INFO = 11
    ZONE_MANAGEMENT = 12
    ZONE_APPEND = 13
    COMPARE = 14
    COMPARE_AND_WRITE = 15
    ABORT = 16
    SEEK_HOLE = 17             # SPDK 22.09
    SEEK_DATA = 18             # SPDK 22.09
    COPY = 19                  # SPDK 23.01
    NVME_IOV_MD = 20           # SPDK 24.01
    NVME_NSSR = 21             # SPDK 25.09
    WRITE_UNCORRECTABLE = 22   # SPDK 26.01


class IoStatus(enum.IntEnum):
    ABORTED = -7
    MISCOMPARE = -5
    NOMEM = -4
    FAILED = -1
    PENDING = 0
    SUCCESS = 1


class BdevEvent(enum.IntEnum):
    REMOVE = 0
    RESIZE = 1
    MEDIA_MANAGEMENT = 2


def has_io_type(lib, io_type):
    """Whether the SPDK the shim was built for has this I/O type."""
    return hasattr(lib, "SPDK_BDEV_IO_TYPE_" + IoType(io_type).name)


def check_against(lib):
    """Raise if any value here differs from the SPDK the shim was built for."""
    pairs = [(m, "SPDK_BDEV_IO_TYPE_" + m.name) for m in IoType if has_io_type(lib, m)]
    pairs += [(m, "SPDK_BDEV_IO_STATUS_" + m.name) for m in IoStatus]
    pairs += [(m, "SPDK_BDEV_EVENT_" + m.name) for m in BdevEvent]
    wrong = ["%s is %d here, %d in SPDK" % (c, m.value, getattr(lib, c))
             for m, c in pairs if getattr(lib, c) != m.value]
    if wrong:
        raise RuntimeError("spdk_py.bdev does not match the SPDK headers: " + "; ".join(wrong))
