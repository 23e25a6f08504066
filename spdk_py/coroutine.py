"""async def code on SPDK's threads: asyncio's, on each SPDK thread's own loop.

Every SPDK thread runs an asyncio event loop, driven by its poller (see the
manual's "asyncio on the reactors"). spawn() makes a Task on the calling
thread's loop; Future, Task and gather are asyncio's. Each ``await`` of
something SPDK finishes later (an I/O, ``thread.sleep``, a message's answer)
suspends the task; the completion, which SPDK delivers on that same thread,
resumes it there. So a task never moves between threads, never blocks a
reactor, and needs no lock for state only it touches. ::

    import asyncio
    from spdk_py import coroutine

    async def copy_block(src, dst, buf):
        await src.read_blocks(buf, 0, 1)     # an IoChannel's I/O: an asyncio Future
        await dst.write_blocks(buf, 0, 1)

    task = coroutine.spawn(copy_block(a, b, buf))   # = asyncio.get_running_loop().create_task
    await asyncio.gather(task, asyncio.sleep(0.01))

A Future is spdk_py's one asynchronous convention: a call that SPDK finishes
later returns one to await (own I/O, ``Thread.run``, ``sleep``,
``for_each_thread``, a descriptor's ``close``, ``collect_stats``, an io_device's
walks, a disk's or vbdev's ``delete``); where a call also takes ``cb=``,
cb(status) is a callback on that same completion instead (no Future made).
An ``async def`` RPC handler answers with what it returns. Cancelled and
InvalidState are asyncio's CancelledError and InvalidStateError.
"""

from spdk_py._runtime.errors import Cancelled, InvalidState
from spdk_py._runtime.tasks import Future, Task, gather, spawn

__all__ = ["Future", "Task", "spawn", "gather", "Cancelled", "InvalidState"]
