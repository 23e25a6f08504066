"""async def code on SPDK's threads, with no event loop and no extra thread.

A Task runs a coroutine on the SPDK thread it was spawned on. Each ``await``
of something SPDK finishes later (an I/O, ``thread.sleep``, a message's answer)
suspends it; the completion, which SPDK delivers on that same thread, resumes
it there. So a coroutine never moves between threads, never blocks a reactor,
and needs no lock for state only it touches. ::

    from spdk_py import coroutine

    async def copy_block(src, dst, buf):
        await src.read_blocks(buf, 0, 1)     # an IoChannel's I/O: a Future
        await dst.write_blocks(buf, 0, 1)

    task = coroutine.spawn(copy_block(a, b, buf))
    task.add_done_callback(lambda t: print(t.exception()))

Future is spdk_py's one asynchronous convention: a call that SPDK finishes
later returns one to await in a task (own I/O, ``Thread.run``, ``sleep``,
``for_each_thread``, a descriptor's ``close``, ``collect_stats``, an io_device's
walks, a disk's or vbdev's ``delete``); where a call also takes ``cb=``,
cb(status) is a callback on that same completion instead (no Future made).
An ``async def`` RPC handler answers with what it returns. A Future made by hand is
resolved with set_result / set_exception on the thread whose tasks await it.
An exception nobody retrieved from a task (no awaiter, no done callback
asking) is logged when the task ends.
"""

from spdk_py._runtime.errors import Cancelled, InvalidState
from spdk_py._runtime.tasks import Future, Task, gather, spawn

__all__ = ["Future", "Task", "spawn", "gather", "Cancelled", "InvalidState"]
