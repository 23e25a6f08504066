"""A small bdevperf in Python: async def workers at a queue depth, random
reads (or writes, or a verify: write a pattern, read it back, compare)
against one bdev, IOPS reported at the end. ::

    SPDK_PY_IOGEN='{"bdev": "Null0", "queue_depth": 128, "seconds": 5}' \\
        spdk-py run --app spdk_tgt --main examples.io_generator:main -- --json null.json

Parameters (SPDK_PY_IOGEN, JSON): bdev (default Null0), workload "randread" |
"randwrite" | "verify" (default randread), queue_depth (128), io_size (4096),
seconds (5), engine "coroutines" | "bulk" (default coroutines). It prints
one line, "iogen result: {...}" (JSON: ios done in all, iops over the
timed seconds, errors, mismatches), and stops the application: status 0 if nothing failed.
Everything runs on the app thread.

The engines: "coroutines" is one asyncio task per unit of queue depth,
each awaiting one I/O at a time (the readable form). "bulk" keeps the same
queue depth with spdk_py.io_channel's bulk I/O: each batch of completions is
one Python call that resubmits the batch at new random offsets (numpy's when
it is there), so Python's cost is per batch, not per I/O. randread and
randwrite only.
"""

from __future__ import annotations

import array
import asyncio
import errno
import json
import os
import random
import time
from typing import Any, Callable, Optional, Union

from spdk_py import dma, log
from spdk_py.bdev import IoType
from spdk_py.bdev_desc import BdevDesc
from spdk_py.io_channel import IoChannel, IoError

DEFAULTS = {"bdev": "Null0", "workload": "randread", "queue_depth": 128, "io_size": 4096,
            "seconds": 5, "engine": "coroutines"}
WORKLOADS = ("randread", "randwrite", "verify")
ENGINES = ("coroutines", "bulk")
# A channel refuses I/O with these once its bdev is closing.
CLOSED = (errno.ENODEV, errno.EBADF)


def parameters() -> dict[str, Any]:
    params = dict(DEFAULTS)
    params.update(json.loads(os.environ.get("SPDK_PY_IOGEN", "{}")))
    if params["workload"] not in WORKLOADS:
        raise ValueError("workload must be one of %s" % ", ".join(WORKLOADS))
    if params["engine"] not in ENGINES:
        raise ValueError("engine must be one of %s" % ", ".join(ENGINES))
    if params["engine"] == "bulk" and params["workload"] == "verify":
        raise ValueError("the bulk engine runs randread and randwrite only")
    return params


class Run:
    def __init__(self, ch: IoChannel, blocks_per_io: int, span: int, workload: str,
                 depth: int) -> None:
        self.ch = ch
        self.depth = depth
        self.blocks_per_io = blocks_per_io
        self.span = span
        self.workload = workload
        self.running = True
        self.ios = 0
        self.errors = 0
        self.mismatches = 0

    async def worker(self, index: int, io_size: int) -> None:
        ch, per_io, span = self.ch, self.blocks_per_io, self.span
        buf = dma.Buffer(io_size)
        pick = random.Random(index).randrange
        read = ch.read_blocks if self.workload != "randwrite" else ch.write_blocks
        if self.workload == "verify":
            await self.verify(index, buf, per_io, span)
            return
        while self.running:
            try:
                await read(buf, pick(span) * per_io, per_io)
            except IoError as exc:
                if exc.errno in CLOSED:  # refused: the bdev is going (shutdown, removal)
                    return
                self.errors += 1
            self.ios += 1

    async def verify(self, index: int, buf: dma.Buffer, per_io: int, span: int) -> None:
        # Each worker owns the slots with its index modulo the depth: no two
        # workers write one block, so what it reads back is what it wrote.
        ch, check = self.ch, dma.Buffer(len(buf))
        depth = self.depth
        slots = list(range(index, span, depth))
        pick = random.Random(index).choice
        generation = 0
        while self.running and slots:
            slot = pick(slots)
            generation += 1
            buf[:8] = generation.to_bytes(8, "little")
            buf[8:16] = slot.to_bytes(8, "little")
            try:
                await ch.write_blocks(buf, slot * per_io, per_io)
                await ch.read_blocks(check, slot * per_io, per_io)
            except IoError as exc:
                if exc.errno in CLOSED:
                    return
                self.errors += 1
                continue
            if bytes(check.view[:16]) != bytes(buf.view[:16]):
                self.mismatches += 1
            self.ios += 2


class BulkRun:
    """The queue depth as one table of slots: each completion batch is
    resubmitted whole, at fresh random offsets."""

    def __init__(self, ch: IoChannel, blocks_per_io: int, span: int, workload: str, depth: int,
                 io_size: int) -> None:
        self.ch, self.per_io, self.span = ch, blocks_per_io, span
        self.io_type = IoType.READ if workload == "randread" else IoType.WRITE
        self.depth = depth
        self.running = True
        self.ios = self.errors = self.mismatches = 0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.random_offsets = _offsets(span, blocks_per_io)
        ch.bulk([dma.Buffer(io_size) for _ in range(depth)], self.completed)

    def start(self) -> None:
        self.ch.submit_bulk(self.io_type, array.array("I", range(self.depth)),
                            self.random_offsets(self.depth), self.per_io)

    def completed(self, slots: memoryview, statuses: memoryview, n: int) -> None:
        self.ios += n
        if any(statuses):
            self.errors += sum(1 for status in statuses if status)
        if self.running:
            try:
                self.ch.submit_bulk(self.io_type, slots, self.random_offsets(n), self.per_io)
                return
            except IoError:  # refused: the bdev is going (shutdown, removal)
                self.running = False
        if self.ch.bulk_outstanding == 0 and not self.finished.done():
            self.finished.set_result(None)

    async def stop(self) -> None:
        self.running = False
        if self.ch.bulk_outstanding:
            await self.finished


def _offsets(span: int, per_io: int) -> Callable[[int], Any]:
    """n random block offsets (uint64): numpy's for a large batch (it costs
    microseconds a call, nanoseconds an offset), Python's for a small one."""
    pick = random.Random(0).randrange

    def few(n: int) -> array.array:
        return array.array("Q", [pick(span) * per_io for _ in range(n)])
    try:
        import numpy
    except ImportError:
        return few
    rng, step = numpy.random.default_rng(0), numpy.uint64(per_io)
    return lambda n: rng.integers(0, span, n, dtype=numpy.uint64) * step if n >= 32 else few(n)


async def run(params: dict[str, Any]) -> dict[str, Any]:
    desc = BdevDesc.open(params["bdev"], write=params["workload"] != "randread")
    try:
        per_io = max(1, params["io_size"] // desc.block_size)
        span = desc.num_blocks // per_io
        io_size = per_io * desc.block_size
        bulk: Optional[BulkRun] = None
        state: Union[Run, BulkRun]
        if params["engine"] == "bulk":
            state = bulk = BulkRun(desc.channel(), per_io, span, params["workload"],
                                   params["queue_depth"], io_size)
            start = time.monotonic()
            bulk.start()
        else:
            run = Run(desc.channel(), per_io, span, params["workload"], params["queue_depth"])
            state = run
            start = time.monotonic()
            workers = [asyncio.create_task(run.worker(i, io_size))
                       for i in range(params["queue_depth"])]
        await asyncio.sleep(params["seconds"])
        ios_at_stop, elapsed = state.ios, time.monotonic() - start
        if bulk is not None:
            await bulk.stop()
        else:
            state.running = False
            await asyncio.gather(*workers)
    finally:
        await desc.close()
    return {"bdev": params["bdev"], "workload": params["workload"], "engine": params["engine"],
            "queue_depth": params["queue_depth"], "io_size": params["io_size"],
            "ios": state.ios, "seconds": round(elapsed, 3),
            "iops": round(ios_at_stop / elapsed), "errors": state.errors,
            "mismatches": state.mismatches}


async def main() -> int:
    result = await run(parameters())
    print("iogen result: %s" % json.dumps(result), flush=True)
    log.notice("iogen: %d IOPS on %s" % (result["iops"], result["bdev"]))
    return 0 if not result["errors"] and not result["mismatches"] else 1

