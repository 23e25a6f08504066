"""SPDK threads from Python: the current thread, pollers, timers and messages.

Everything here runs Python on an SPDK thread (a reactor's) and never blocks
it. A poller or timer runs on the thread that registered it; a message runs
on the thread it is sent to; each is stopped on its own thread. ::

    from spdk_py import thread

    here = thread.current()                       # this SPDK thread
    other = thread.Thread.create("job1", core=1)  # a new SPDK thread on core 1's reactor
    p = thread.Poller(lambda: do_work(), period_us=1000)
    p.unregister()                                # on the same thread
    thread.call_later(500_000, lambda: print("half a second later"))
    here.send(lambda: print("back on", here.name))   # from any thread, a worker's too
    result = await other.run(some_async_fn, arg)  # on another thread; awaited here
    await thread.sleep(1000)                      # in a coroutine (spdk_py.coroutine)
    await thread.for_each_thread(lambda: print(thread.current().name))
    other.exit()                                  # once its pollers and channels are gone

Per-thread state and spdk_for_each_channel over it: spdk_py.io_device. ::

    Thread            one SPDK thread: .send(fn, *args) from any thread, .run(fn, *args) -> Future,
                      .exit(); Thread.create(name, core) makes one on a reactor
    current()         the SPDK thread running this code (NotOnSpdkThread elsewhere)
    Poller(fn, us)    fn() every period on this thread (true: it did work), until .unregister()
    Timer, call_later fn() once, later, unless .cancel()ed
    sleep(us)         a Future done that much later
    for_each_thread   fn() on every SPDK thread in turn; a Future done back here
    local(factory)    a value per SPDK thread (.get() here, .values() all): what
                      reactors running Python together must not share
    read_by_every_reactor(obj)
                      obj, marked as read (not changed) by every reactor's hooks
                      (a routing table): on a free-threaded CPython its
                      reference count is deferred, so loading it costs no
                      core another's cache line; freed by the cyclic
                      collector, not at its last reference. A no-op with a GIL.
"""
from spdk_py._runtime.errors import NotOnSpdkThread
from spdk_py._runtime.shared import read_by_every_reactor
from spdk_py._runtime.thread import (Local, Poller, Thread, Timer, call_later, current,
                                     for_each_thread, local, sleep)

__all__ = ["Thread", "current", "Poller", "Timer", "call_later", "sleep", "for_each_thread",
           "Local", "local", "read_by_every_reactor", "NotOnSpdkThread"]
