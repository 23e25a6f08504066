"""hello_bdev with asyncio.gather: write a different string to each of the
first blocks of a bdev, all at once, read them back, all at once, print
them, stop the application. ::

    spdk-py run --app spdk_tgt --main examples.hello_gather:main -- --json bdev.json

The bdev is SPDK_PY_HELLO_BDEV's (default Malloc0), the number of blocks
SPDK_PY_HELLO_BLOCKS' (default 8). Each I/O is a Future of spdk_py's, which
is asyncio's: asyncio.gather keeps every write (then every read) in flight
together, and its result is in the order asked, whatever the order they
completed in. It prints "Read string from bdev block <n> : Hello from
block <n>!" for each block and the application exits 0; on a failure it
logs why and exits 1.
"""

from __future__ import annotations

import asyncio
import os

from spdk_py import dma, log
from spdk_py.bdev_desc import BdevDesc


def greeting(block: int) -> bytes:
    return b"Hello from block %d!" % block


async def main() -> int:
    name = os.environ.get("SPDK_PY_HELLO_BDEV", "Malloc0")
    count = int(os.environ.get("SPDK_PY_HELLO_BLOCKS", "8"))
    log.notice("Opening the bdev %s" % name)
    desc = BdevDesc.open(name)
    try:
        ch = desc.channel()
        bufs = [dma.Buffer(desc.block_size, align=desc.buf_align) for _ in range(count)]
        for block, buf in enumerate(bufs):
            hello = greeting(block)
            buf[:len(hello) + 1] = hello + b"\0"
        log.notice("Writing %d blocks, all in flight at once" % count)
        await asyncio.gather(*(ch.write_blocks(buf, block, 1) for block, buf in enumerate(bufs)))
        for buf in bufs:
            buf.fill(0)
        log.notice("Reading %d blocks, all in flight at once" % count)
        await asyncio.gather(*(ch.read_blocks(buf, block, 1) for block, buf in enumerate(bufs)))
        for block, buf in enumerate(bufs):
            text = bytes(buf.view).split(b"\0", 1)[0].decode(errors="replace")
            print("Read string from bdev block %d : %s" % (block, text), flush=True)
    finally:
        await desc.close()
    log.notice("Stopping app")
    return 0
