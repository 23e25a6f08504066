"""RPCs that drive Python's own I/O, pollers and messages inside the target,
for tests/integration/test_own_io.py. Each is an async def handler: it runs on
the app thread and answers with what it found; the test checks the data."""

import asyncio
import errno
import os

from spdk_py import dma, thread
from spdk_py.bdev import IoType
from spdk_py.bdev_desc import BdevDesc
from spdk_py.io_channel import IoError
from spdk_py.jsonrpc import RpcError, rpc_method

# Descriptors tests keep open across RPCs, by a name of the test's.
held = {}


def _open(name, **kwargs):
    try:
        return BdevDesc.open(name, **kwargs)
    except OSError as exc:
        raise RpcError.from_errno(-exc.errno, "bdev %s" % name)


async def _status(future):
    try:
        await future
        return 0
    except IoError as exc:
        return -exc.errno


@rpc_method("test_own_io_round_trip", params={"bdev": str}, optional={"offset_blocks": int})
async def round_trip(params):
    """A pattern written (two iovecs), read back, compared; then zeros."""
    desc = _open(params["bdev"])
    try:
        ch = desc.channel()
        bs, off, n = desc.block_size, params.get("offset_blocks", 0), 8
        pattern = os.urandom(n * bs)
        first, second = dma.Buffer(3 * bs), dma.Buffer(5 * bs)
        first[:] = pattern[:3 * bs]
        second[:] = pattern[3 * bs:]
        out = {"write": await _status(ch.writev_blocks([first, second], off, n))}
        back = dma.Buffer(n * bs)
        out["read"] = await _status(ch.read_blocks(back, off, n))
        out["read_matches"] = bytes(back) == pattern
        if desc.supports(IoType.COMPARE):
            out["compare_same"] = await _status(ch.compare_blocks(back, off, n))
            back[0] ^= 0xFF
            out["compare_other"] = await _status(ch.compare_blocks(back, off, n))
        out["flush"] = await _status(ch.flush_blocks(off, n))
        out["write_zeroes"] = await _status(ch.write_zeroes_blocks(off, n))
        halves = [bytearray(4 * bs), bytearray(4 * bs)]  # plain memory: malloc needs no DMA
        out["readv"] = await _status(ch.readv_blocks(halves, off, n))
        out["zeros"] = bytes(halves[0] + halves[1]) == bytes(n * bs)
        out["reset"] = await _status(ch.reset())
        out["stats"] = ch.stats()
        return out
    finally:
        await desc.close()


@rpc_method("test_own_io_refused", params={"bdev": str})
async def refused(params):
    """I/Os the bdev layer refuses raise at once, and nothing completes later."""
    out = {}
    desc = _open(params["bdev"], write=False)
    try:
        ch = desc.channel()
        buf = dma.Buffer(desc.block_size)
        for what, call in (("past_end", lambda: ch.read_blocks(buf, desc.num_blocks, 1)),
                           ("read_only", lambda: ch.write_blocks(buf, 0, 1)),
                           ("short_buffer", lambda: ch.read_blocks(buf, 0, 2))):
            try:
                call()
                out[what] = "submitted"
            except IoError as exc:
                out[what] = errno.errorcode[exc.errno]
            except ValueError as exc:
                out[what] = "ValueError: %s" % exc
        await thread.sleep(10000)
        out["outstanding"] = ch.outstanding
    finally:
        await desc.close()
    try:
        desc.channel()
    except OSError as exc:
        out["after_close"] = errno.errorcode[exc.errno]
    return out


@rpc_method("test_own_io_load", params={"bdev": str, "ios": int, "queue_depth": int},
            optional={"raise_every": int})
async def load(params):
    """ios random 4K reads and writes at a queue depth, by callbacks; each
    counted once. raise_every: every Nth callback raises (logged; goes on)."""
    desc = _open(params["bdev"])
    ch = desc.channel()
    bs = desc.block_size
    per_io = max(1, 4096 // bs)
    span = desc.num_blocks // per_io
    total, depth, raise_every = params["ios"], params["queue_depth"], params.get("raise_every", 0)
    seen, counts = {}, {"completed": 0, "failed": 0, "submitted": 0}
    finished = asyncio.get_running_loop().create_future()
    bufs = [dma.Buffer(per_io * bs) for _ in range(depth)]

    def submit(slot):
        i = counts["submitted"]
        counts["submitted"] += 1
        offset = (i * 7919 % span) * per_io
        io = ch.write_blocks if i % 2 else ch.read_blocks
        io(bufs[slot], offset, per_io, cb=lambda status: done(slot, i, status))

    def done(slot, i, status):
        seen[i] = seen.get(i, 0) + 1
        counts["completed"] += 1
        counts["failed"] += status != 0
        if counts["submitted"] < total:
            submit(slot)
        elif counts["completed"] == total:
            finished.set_result(None)
        # (Not the last: its set_result resumed the RPC's task, which has answered.)
        if raise_every and counts["completed"] % raise_every == 0 and counts["completed"] < total:
            raise RuntimeError("injected callback fault")

    for slot in range(min(depth, total)):
        submit(slot)
    await finished
    stats = ch.stats()
    await desc.close()
    return {**counts, "twice": sum(1 for c in seen.values() if c != 1), "unique": len(seen),
            "nomem_waits": stats["nomem_waits"], "exceptions": stats["exceptions"]}


@rpc_method("test_own_io_close_in_flight", params={"bdev": str, "ios": int})
async def close_in_flight(params):
    """ios reads out, then close: every one completes before the close does."""
    desc = _open(params["bdev"])
    ch = desc.channel()
    buf = dma.Buffer(desc.block_size)
    completions = []
    for i in range(params["ios"]):
        ch.read_blocks(buf, i % desc.num_blocks, 1, cb=completions.append)
    closing = desc.close()
    try:
        ch.read_blocks(buf, 0, 1)
        after = "submitted"
    except IoError as exc:
        after = errno.errorcode[exc.errno]
    await closing
    return {"completed": len(completions), "ok": completions.count(0), "after_close": after}


@rpc_method("test_threads", optional={"bdev": str})
async def threads(params):
    """Pollers, timers, messages and, with bdev, a channel and I/O on every thread."""
    home = thread.current()
    names = []
    await thread.for_each_thread(lambda: names.append(thread.current().name))
    ticks = []
    poller = thread.Poller(lambda: ticks.append(1) or len(ticks) < 5, period_us=1000)
    await thread.sleep(50000)
    poller.unregister()
    cancelled = thread.call_later(10000, lambda: ticks.append("cancelled timer fired"))
    cancelled.cancel()
    await thread.sleep(20000)
    visited = []
    all_threads = []
    await thread.for_each_thread(lambda: all_threads.append(thread.current()))
    for other in all_threads:
        visited.append(await other.run(lambda: thread.current().name))
    out = {"home": home.name, "threads": names, "poller_ticks": len(ticks),
           "visited": visited, "back_home": thread.current() == home}
    if "bdev" in params:
        desc = _open(params["bdev"])
        bs = desc.block_size

        async def write_and_read(slot):
            ch = desc.channel()
            buf = dma.Buffer(bs)
            buf[:] = bytes([slot + 1]) * bs
            await ch.write_blocks(buf, slot, 1)
            buf.fill(0)
            await ch.read_blocks(buf, slot, 1)
            return [thread.current().name, bytes(buf) == bytes([slot + 1]) * bs]

        out["io"] = [await t.run(write_and_read, i) for i, t in enumerate(all_threads)]
        out["channels"] = len(desc.channels)
        await desc.close()  # closes the other threads' channels, on their threads
        out["channels_after_close"] = len(desc.channels)
    return out


@rpc_method("test_thread_create", params={"core": int}, optional={"bdev": str})
async def thread_create(params):
    """A new SPDK thread on a core: where it runs, an I/O on it with bdev, and
    its end once exit()ed. A core with no reactor answers an error."""
    try:
        made = thread.Thread.create("test_made", params["core"])
    except ValueError as exc:
        raise RpcError(-32602, str(exc))
    out = {"there": await made.run(lambda: [thread.current().name, sorted(os.sched_getaffinity(0))])}
    if "bdev" in params:
        desc = _open(params["bdev"])
        bs = desc.block_size

        async def round_trip():
            ch, buf = desc.channel(), dma.Buffer(bs)
            buf[:] = b"\x5a" * bs
            await ch.write_blocks(buf, 7, 1)
            buf.fill(0)
            await ch.read_blocks(buf, 7, 1)
            await ch.close()  # (the thread ends only once its channels are put)
            return bytes(buf) == b"\x5a" * bs
        out["io_matches"] = await made.run(round_trip)
        await desc.close()
    out["exited_before"] = made.exited
    made.exit()
    for _ in range(200):
        if made.exited:
            break
        await thread.sleep(10000)
    out["exited"] = made.exited
    try:
        made.send(lambda: None)
        out["send_after_exit"] = "accepted"
    except (LookupError, OSError) as exc:
        out["send_after_exit"] = type(exc).__name__
    return out


@rpc_method("test_own_io_hold", params={"bdev": str, "key": str}, optional={"claim": bool})
def hold(params):
    """Open bdev and keep it open; its events are recorded under key."""
    events = []
    desc = _open(params["bdev"], claim=params.get("claim", False),
                 on_event=lambda d, event: events.append(int(event)))
    desc.channel()
    held[params["key"]] = (desc, events)
    return {"claimed": desc.claimed}


@rpc_method("test_own_io_held", params={"key": str})
def held_state(params):
    desc, events = held[params["key"]]
    return {"events": events, "closed": desc.closed, "channels": len(desc.channels)}


@rpc_method("test_own_io_write", params={"bdev": str, "offset_blocks": int, "data": str})
async def write(params):
    """Write data (hex) at offset_blocks."""
    data = bytes.fromhex(params["data"])
    desc = _open(params["bdev"])
    try:
        buf = dma.Buffer(len(data))
        buf[:] = data
        await desc.channel().write_blocks(buf, params["offset_blocks"],
                                          len(data) // desc.block_size)
    finally:
        await desc.close()
    return True


@rpc_method("test_own_io_read", params={"bdev": str, "offset_blocks": int, "num_blocks": int})
async def read(params):
    """Read num_blocks at offset_blocks; their bytes in hex."""
    desc = _open(params["bdev"], write=False)
    try:
        buf = dma.Buffer(params["num_blocks"] * desc.block_size)
        await desc.channel().read_blocks(buf, params["offset_blocks"], params["num_blocks"])
    finally:
        await desc.close()
    return bytes(buf).hex()


@rpc_method("test_io_device")
async def io_device(params):
    """An IoDevice: state on every thread, a for_each_channel over it, a walk
    stopped early, and an unregister once every channel is put."""
    from spdk_py.io_device import IoDevice
    destroyed = []
    device = IoDevice("test_io_device", create_channel=lambda: {"thread": thread.current().name,
                                                                "ios": 0},
                      destroy_channel=lambda state: destroyed.append(state["thread"]))
    everywhere = []
    await thread.for_each_thread(lambda: everywhere.append(thread.current()))

    def bump(times):
        state = device.channel()
        state["ios"] += times
        return state is device.channel()  # the same state, kept
    kept = [await t.run(bump, i + 1) for i, t in enumerate(everywhere)]
    seen = []
    status = await device.for_each_channel(lambda state: seen.append(
        [state["thread"], state["ios"], thread.current().name]))
    stopped = await device.for_each_channel(lambda state: True)
    for t in everywhere:
        await t.run(device.put_channel)
    await device.unregister()
    return {"kept": kept, "seen": seen, "status": status, "stopped": stopped,
            "destroyed": destroyed, "threads": [t.name for t in everywhere]}


@rpc_method("test_own_io_reset", params={"bdev": str}, optional={"reads": int})
async def reset(params):
    """A reset as SPDK's bdevio checks one (supported: whether the bdev
    advertises RESET; status: the reset's), after reads reads at once:
    order says what completed when."""
    desc = _open(params["bdev"])
    try:
        ch = desc.channel()
        order = []
        buf = dma.Buffer(desc.block_size)
        for i in range(params.get("reads", 0)):
            ch.read_blocks(buf, i % desc.num_blocks, 1, cb=lambda status: order.append("read"))
        status = await _status(ch.reset())
        order.append("reset")
        await thread.sleep(1000)
        while ch.outstanding:
            await thread.sleep(10000)
        return {"supported": desc.supports(IoType.RESET), "status": status, "order": order}
    finally:
        await desc.close()


@rpc_method("test_own_io_unmap", params={"bdev": str, "offset_blocks": int, "num_blocks": int},
            optional={"write_zeroes": bool})
async def unmap(params):
    """An unmap (or write_zeroes) of the range: the bdev's answer, and whether it
    advertises the type."""
    io_type = IoType.WRITE_ZEROES if params.get("write_zeroes") else IoType.UNMAP
    desc = _open(params["bdev"])
    try:
        ch = desc.channel()
        call = ch.write_zeroes_blocks if io_type == IoType.WRITE_ZEROES else ch.unmap_blocks
        status = await _status(call(params["offset_blocks"], params["num_blocks"]))
        return {"supported": desc.supports(io_type), "status": status}
    finally:
        await desc.close()
