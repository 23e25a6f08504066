"""Names for spdk/bdev.h's I/O types, I/O statuses and bdev events.

The values are SPDK's; the target checks them against the headers the shim
was compiled with when it starts, so a mismatch stops the target at init
instead of misrouting I/O. IoType names every release's types, each marked
with the release that added it where that is after 20.07.
"""

from __future__ import annotations

import enum

from spdk_py._runtime import bdev as _bdev

__all__ = ["IoType", "IoStatus", "BdevEvent"]


class IoType(enum.IntEnum):
    """A bdev I/O's type (``enum spdk_bdev_io_type``)."""

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
    """What an I/O completes with (``enum spdk_bdev_io_status``); a hook
    returns one to complete its I/O with it."""

    ABORTED = -7
    MISCOMPARE = -5
    NOMEM = -4
    FAILED = -1
    PENDING = 0
    SUCCESS = 1


class BdevEvent(enum.IntEnum):
    """An event of an open bdev (``enum spdk_bdev_event_type``)."""

    REMOVE = 0
    RESIZE = 1
    MEDIA_MANAGEMENT = 2


_bdev.check_enum(IoType, "SPDK_BDEV_IO_TYPE_")
_bdev.check_enum(IoStatus, "SPDK_BDEV_IO_STATUS_")
_bdev.check_enum(BdevEvent, "SPDK_BDEV_EVENT_")
