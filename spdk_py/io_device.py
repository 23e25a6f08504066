"""An SPDK io_device of Python's: state per SPDK thread, made where it is
first wanted, and spdk_for_each_channel over it (spdk-rs's IoDevice). ::

    from spdk_py.io_device import IoDevice

    stats = IoDevice("mystats", create_channel=lambda: {"ios": 0})
    stats.channel()["ios"] += 1            # this thread's state (spdk_get_io_channel)
    totals = []
    await stats.for_each_channel(lambda state: totals.append(state["ios"]))
    stats.put_channel()                    # on each thread that took one
    await stats.unregister()               # once every channel is put

create_channel() runs on the thread that first asks for a channel and its
result is that thread's state until the channel is put (destroy_channel(state)
then, on that thread). for_each_channel(fn) calls fn(state) on each channel's
thread in turn (a true return value stops the walk) and is a Future done back
on the device's thread. The device belongs to the thread that made it:
for_each_channel and unregister are sent there from elsewhere.
"""

from spdk_py._runtime.io_device import IoDevice

__all__ = ["IoDevice"]
