"""Example module: an XOR data transform. What is written lands on the base
XORed with a key; reads undo it, so users of the vbdev see their own data. ::

    bdev_xor_create {base_bdev_name, name, key}      key: hex, 1-64 bytes, a power of two
    bdev_xor_set_key {name, key}                     data already written then reads differently

The key repeats from the start of every block, so a byte's transform depends
only on where it is on the disk. Writes go through a bounce buffer: the
caller's buffer must not change (a write whose hook filled one goes on from
it). Python hooks two things only, the submission of writes and the
completion of reads; the rest is forwarded in C.
WRITE_ZEROES and ZCOPY are not advertised (they would bypass the transform;
the bdev layer turns write-zeroes into writes, which are transformed).
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from spdk_py import bdev_io
from spdk_py.bdev import IoStatus, IoType
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import create_from_rpc, existing

KEY_MAX = 64
SUCCESS = int(IoStatus.SUCCESS)


def decode_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise RpcError(INVALID_PARAMS, "key must be hex digits") from None
    if not key or len(key) > KEY_MAX or len(key) & (len(key) - 1):
        raise RpcError(INVALID_PARAMS, "key must be 1 to %d bytes, a power of two" % KEY_MAX)
    return key


class XorVbdev(PassthruVbdev):
    product_name = "xor"
    create_method = "bdev_xor_create"
    # In hybrid mode C would forward writes untransformed.
    modes = ("python",)

    def __init__(self, name: str, mode: str, key: bytes) -> None:
        super().__init__(name, mode)
        self.set_key(key)

    def set_key(self, key: bytes) -> None:
        # The key and its masks in one object, replaced whole: a hook on
        # another reactor sees the old pair or the new, never one with the other.
        self._keyed: tuple[bytes, dict[tuple[int, int], int]] = (key, {})

    @property
    def key(self) -> bytes:
        return self._keyed[0]

    @staticmethod
    def _mask(keyed: tuple[bytes, dict], phase: int, length: int) -> int:
        """The key repeated over length bytes, from key byte phase, as an int."""
        key, masks = keyed
        mask = masks.get((phase, length))
        if mask is None:
            if len(masks) > 64:
                masks.clear()
            repeated = key * ((phase + length) // len(key) + 1)
            mask = int.from_bytes(repeated[phase:phase + length], "little")
            masks[(phase, length)] = mask
        return mask

    def _xor(self, dst: Any, src: Any, offset: int) -> None:
        """dst = src ^ key, for bytes at offset from the start of the I/O."""
        n = len(src)
        keyed = self._keyed
        mask = self._mask(keyed, offset % len(keyed[0]), n)
        dst[:] = (int.from_bytes(src, "little") ^ mask).to_bytes(n, "little")

    def submit_write(self, io: int) -> None:
        bounce = bdev_io.bounce_buffer(io)
        offset = 0
        for view in bdev_io.buffers(io):
            self._xor(bounce[offset:offset + len(view)], view, offset)
            offset += len(view)
        return None  # on to the base, from the bounce buffer

    def complete_read(self, io: int, status: int) -> Optional[int]:
        if status == SUCCESS:
            offset = 0
            for view in bdev_io.buffers(io):
                self._xor(view, view, offset)
                offset += len(view)
        return None

    def io_type_supported(self, io_type: int) -> bool:
        if io_type in (IoType.WRITE_ZEROES, IoType.ZCOPY):
            return False
        return super().io_type_supported(io_type)

    def dump_info(self) -> tuple[str, dict[str, Any]]:
        return "xor", {"name": self.name, "base_bdev_name": self.base_name,
                       "key_bytes": len(self.key)}

    def config_params(self) -> dict[str, Any]:
        return {"base_bdev_name": self.base_name, "name": self.name, "key": self.key.hex()}


@rpc_method("bdev_xor_create", params={"base_bdev_name": str, "name": str, "key": str})
def bdev_xor_create(params: dict) -> str:
    """Create a bdev that stores data XORed with a key on its base."""
    key = decode_key(params.pop("key"))
    return create_from_rpc(params, functools.partial(XorVbdev, key=key))


@rpc_method("bdev_xor_set_key", params={"name": str, "key": str})
def bdev_xor_set_key(params: dict) -> bool:
    """Change the key (data already on the base then reads back differently)."""
    key = decode_key(params["key"])
    existing(params["name"], XorVbdev, "xor").set_key(key)
    return True
