"""RPCs that run standard asyncio code on SPDK's threads, for
tests/integration/test_asyncio.py: each answers with what it saw."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from spdk_py import thread
from spdk_py.jsonrpc import rpc_method


@rpc_method("test_asyncio_basics", params={"port": int})
async def basics(params: dict) -> dict[str, Any]:
    """create_task, gather, wait_for, timeout, TaskGroup, sleep,
    open_connection, run_in_executor and call_soon_threadsafe, on the app
    thread's loop."""
    loop = asyncio.get_running_loop()
    out: dict[str, Any] = {"loop": type(loop).__name__}

    async def double(x: int) -> int:
        await asyncio.sleep(0.001)
        return 2 * x
    out["gather"] = await asyncio.gather(*(asyncio.create_task(double(i)) for i in range(5)))
    try:
        await asyncio.wait_for(asyncio.sleep(1), timeout=0.01)
    except asyncio.TimeoutError:
        out["wait_for"] = "timed out"
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
    except TimeoutError:
        out["timeout"] = "timed out"
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(double(i)) for i in range(3)]
    out["task_group"] = [t.result() for t in tasks]
    started = loop.time()
    await asyncio.sleep(0.02)
    out["slept_ms"] = round((loop.time() - started) * 1000, 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", params["port"])
    writer.write(b"ping\n")
    await writer.drain()
    out["echo"] = (await reader.readline()).decode().strip()
    writer.close()
    await writer.wait_closed()
    here = thread.current().name
    worker = await loop.run_in_executor(None, lambda: threading.current_thread().name)
    out["executor"] = {"ran_on": worker, "back_on": thread.current().name == here}
    future = loop.create_future()
    threading.Thread(target=lambda: loop.call_soon_threadsafe(future.set_result, "from a thread"))\
        .start()
    out["threadsafe"] = await future
    out["back_home"] = asyncio.get_running_loop() is loop
    return out


@rpc_method("test_asyncio_loops")
async def loops(params: dict) -> dict[str, Any]:
    """Each SPDK thread's own loop, running there."""
    seen: list[list[Any]] = []

    async def where() -> list[Any]:
        await asyncio.sleep(0)
        return [thread.current().name, id(asyncio.get_running_loop())]
    everywhere: list[thread.Thread] = []
    await thread.for_each_thread(lambda: everywhere.append(thread.current()))
    for other in everywhere:
        seen.append(await other.run(where))
    return {"seen": seen, "distinct": len({loop for _, loop in seen})}


@rpc_method("test_asyncio_callback_raises")
async def callback_raises(params: dict) -> bool:
    """A callback that raises is logged by the loop's exception handler;
    the loop goes on."""
    loop = asyncio.get_running_loop()
    loop.call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.005)
    return True


# What bench/bench_asyncio.py leaves idle on the app thread's loop.
_idle: list[Any] = []


@rpc_method("test_asyncio_idle", params={"what": str, "count": int})
async def idle(params: dict) -> int:
    """Leave the app thread's loop idle with `count` of `what`: "timers" (tasks
    asleep for an hour) or "sockets" (listening servers plus, for each, a
    connection open to it, every end watched): how many things wait."""
    count = params["count"]
    if params["what"] == "timers":
        _idle.extend(asyncio.create_task(asyncio.sleep(3600)) for _ in range(count))
    elif params["what"] == "sockets":
        for _ in range(count):
            server = await asyncio.start_server(lambda r, w: _idle.append(w), "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            _idle.extend([server, await asyncio.open_connection("127.0.0.1", port)])
    else:
        raise ValueError("what: timers or sockets")
    return count


@rpc_method("test_asyncio_idle_end")
async def idle_end(params: dict) -> bool:
    """Nothing left waiting on the app thread's loop."""
    while _idle:
        thing = _idle.pop()
        if isinstance(thing, asyncio.Task):
            thing.cancel()
        elif isinstance(thing, tuple):
            thing[1].close()
        else:
            thing.close()
    await asyncio.sleep(0.01)
    return True
