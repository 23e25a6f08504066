"""SPDK's hello_bdev, in Python: open a bdev, write "Hello World!" to its
first block, read it back, print it, stop the application. ::

    spdk-py run --app spdk_tgt --main examples.hello_bdev:main -- --json bdev.json

The bdev is SPDK_PY_HELLO_BDEV's (default Malloc0). As SPDK's C example, it
prints "Read string from bdev : Hello World!" and the application exits 0;
on a failure it logs why and exits 1.
"""

import os

from spdk_py import dma, log
from spdk_py.bdev_desc import BdevDesc

GREETING = b"Hello World!"


async def main() -> int:
    name = os.environ.get("SPDK_PY_HELLO_BDEV", "Malloc0")
    log.notice("Opening the bdev %s" % name)
    desc = BdevDesc.open(name)
    try:
        ch = desc.channel()
        buf = dma.Buffer(desc.block_size, align=desc.buf_align)
        buf[:len(GREETING) + 1] = GREETING + b"\0"
        log.notice("Writing to the bdev")
        await ch.write_blocks(buf, 0, 1)
        buf.fill(0)
        log.notice("Reading io")
        await ch.read_blocks(buf, 0, 1)
        text = bytes(buf.view).split(b"\0", 1)[0].decode(errors="replace")
        print("Read string from bdev : %s" % text, flush=True)
        log.notice("Read string from bdev : %s" % text)
    finally:
        await desc.close()
    log.notice("Stopping app")
    return 0
