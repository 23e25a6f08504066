"""spdk/bdev.h's numbers as the compiled lib has them: I/O type names for
log lines and hook lookup, and the check that the public enums
(spdk_py.bdev) say the same as the SPDK the shim was built for."""

from __future__ import annotations

import enum
from spdk_py._runtime.binding import binding

IO_TYPE_PREFIX = "SPDK_BDEV_IO_TYPE_"

# The I/O types and statuses the runtime itself names (SPDK's values since
# 20.07; check_all() confirms them against lib).
READ, WRITE, UNMAP, FLUSH, RESET, WRITE_ZEROES, COMPARE = 1, 2, 3, 4, 5, 9, 14
SUCCESS, FAILED = 1, -1
_CONSTANTS = {"SPDK_BDEV_IO_TYPE_READ": READ, "SPDK_BDEV_IO_TYPE_WRITE": WRITE,
              "SPDK_BDEV_IO_TYPE_UNMAP": UNMAP, "SPDK_BDEV_IO_TYPE_FLUSH": FLUSH,
              "SPDK_BDEV_IO_TYPE_RESET": RESET, "SPDK_BDEV_IO_TYPE_WRITE_ZEROES": WRITE_ZEROES,
              "SPDK_BDEV_IO_TYPE_COMPARE": COMPARE, "SPDK_BDEV_IO_STATUS_SUCCESS": SUCCESS,
              "SPDK_BDEV_IO_STATUS_FAILED": FAILED}

# Enums to check against lib, with their constants' prefix.
_enums: list[tuple[type[enum.IntEnum], str]] = []


def io_types() -> dict[str, int]:
    """Every I/O type by lower-case name (read, write, ...): the SPDK built
    for's, from lib; outside a target, spdk_py.bdev.IoType's."""
    if binding.installed:
        lib = binding.lib
        return {name[len(IO_TYPE_PREFIX):].lower(): getattr(lib, name) for name in dir(lib)
                if name.startswith(IO_TYPE_PREFIX) and name != IO_TYPE_PREFIX + "NUM_TYPES"}
    return {member.name.lower(): member.value for cls, prefix in _enums
            if prefix == IO_TYPE_PREFIX for member in cls}


def io_type_name(io_type: int) -> str:
    for name, value in io_types().items():
        if value == io_type:
            return name.upper()
    return "type %d" % io_type


def has(constant: str) -> bool:
    return hasattr(binding.require()[1], constant)


def check_enum(cls: type[enum.IntEnum], prefix: str) -> None:
    """Check cls against lib now, or when the host starts: a value that
    differs would misroute I/O, so it stops the target at init instead."""
    _enums.append((cls, prefix))
    if binding.installed:
        check_all()


def check_all() -> None:
    lib = binding.require()[1]
    wrong = ["%s is %d here, %d in SPDK" % (name, value, getattr(lib, name))
             for name, value in _CONSTANTS.items() if getattr(lib, name) != value]
    for cls, prefix in _enums:
        for member in cls:
            constant = prefix + member.name
            if hasattr(lib, constant) and getattr(lib, constant) != member.value:
                wrong.append("%s is %d here, %d in SPDK" % (constant, member.value,
                                                           getattr(lib, constant)))
    if wrong:
        raise RuntimeError("spdk_py.bdev does not match the SPDK headers: " + "; ".join(wrong))
