"""A bdev opened from Python (spdk_bdev_open_ext): the handle its I/O goes
through, as a C module holds a struct spdk_bdev_desc. ::

    from spdk_py.bdev_desc import BdevDesc

    desc = BdevDesc.open("Malloc0", on_event=lambda desc, event: ...)
    ch = desc.channel()            # this SPDK thread's I/O channel (spdk_py.io_channel)
    await ch.write_blocks(buf, 0, 1)
    await desc.close()             # its channels first, each on its thread

Open and close run on an SPDK thread; the descriptor belongs to the thread
that opened it, which is where its events arrive and where it is closed
(close() from elsewhere sends it there). On SPDK_BDEV_EVENT_REMOVE the
descriptor closes itself after on_event, as SPDK requires for the bdev to go;
I/Os still out complete first.

on_event receives the event as an int: compare it with spdk_py.bdev.BdevEvent
(BdevEvent.REMOVE, BdevEvent.RESIZE).
"""

from spdk_py._runtime.bdev_desc import BdevDesc, exists

__all__ = ["BdevDesc", "exists"]
