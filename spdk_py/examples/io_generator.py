"""A small bdevperf in Python: async def workers at a queue depth, random
reads (or writes, or a verify: write a pattern, read it back, compare)
against one bdev, IOPS reported at the end. ::

    SPDK_PY_IOGEN='{"bdev": "Null0", "queue_depth": 128, "seconds": 5}' \\
        spdk-py run --app spdk_tgt --main examples.io_generator:main -- --json null.json

Parameters (SPDK_PY_IOGEN, JSON): bdev (default Null0), workload "randread" |
"randwrite" | "verify" (default randread), queue_depth (128, per job), io_size (4096),
seconds (5), engine "coroutines" | "bulk" (default coroutines), cores (a
list of reactor cores: a job on an SPDK thread of its own on each, each on
its share of the bdev; default: one job on the app thread). It prints one
line, "iogen result: {...}" (JSON: ios done in all, iops over the timed
seconds, errors, mismatches, and each job's iops), and stops the
application: status 0 if nothing failed.

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

from spdk_py import dma, log, thread
from spdk_py.bdev import IoType
from spdk_py.bdev_desc import BdevDesc
from spdk_py.io_channel import IoChannel, IoError

DEFAULTS = {"bdev": "Null0", "workload": "randread", "queue_depth": 128, "io_size": 4096,
            "seconds": 5, "engine": "coroutines", "cores": None}
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
    cores = params["cores"]
    if cores is not None and (not isinstance(cores, list) or not cores
                              or not all(isinstance(c, int) for c in cores)):
        raise ValueError("cores must be a list of core numbers")
    return params


class Run:
    """I/Os of blocks_per_io blocks each at units first .. first+span-1 (a
    unit: one I/O's blocks)."""

    def __init__(self, ch: IoChannel, blocks_per_io: int, first: int, span: int, workload: str,
                 depth: int) -> None:
        self.ch = ch
        self.depth = depth
        self.blocks_per_io = blocks_per_io
        self.first, self.span = first, span
        self.workload = workload
        self.running = True
        self.ios = 0
        self.errors = 0
        self.mismatches = 0

    async def worker(self, index: int, io_size: int) -> None:
        ch, per_io, first, span = self.ch, self.blocks_per_io, self.first, self.span
        buf = dma.Buffer(io_size)
        pick = random.Random(first + index).randrange
        read = ch.read_blocks if self.workload != "randwrite" else ch.write_blocks
        if self.workload == "verify":
            await self.verify(index, buf, per_io)
            return
        while self.running:
            try:
                await read(buf, (first + pick(span)) * per_io, per_io)
            except IoError as exc:
                if exc.errno in CLOSED:  # refused: the bdev is going (shutdown, removal)
                    return
                self.errors += 1
            self.ios += 1

    async def verify(self, index: int, buf: dma.Buffer, per_io: int) -> None:
        # Each worker owns the slots with its index modulo the depth: no two
        # workers write one block, so what it reads back is what it wrote.
        ch, check = self.ch, dma.Buffer(len(buf))
        depth = self.depth
        slots = list(range(self.first + index, self.first + self.span, depth))
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

    def __init__(self, ch: IoChannel, blocks_per_io: int, first: int, span: int, workload: str,
                 depth: int, io_size: int) -> None:
        self.ch, self.per_io, self.span = ch, blocks_per_io, span
        self.io_type = IoType.READ if workload == "randread" else IoType.WRITE
        self.depth = depth
        self.running = True
        self.ios = self.errors = self.mismatches = 0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.random_offsets = _offsets(first, span, blocks_per_io)
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


def _offsets(first: int, span: int, per_io: int) -> Callable[[int], Any]:
    """n random block offsets (uint64) in units first .. first+span-1:
    numpy's for a large batch (it costs microseconds a call, nanoseconds an
    offset), Python's for a small one."""
    pick = random.Random(first).randrange

    def few(n: int) -> array.array:
        return array.array("Q", [(first + pick(span)) * per_io for _ in range(n)])
    try:
        import numpy
    except ImportError:
        return few
    rng, step = numpy.random.default_rng(first), numpy.uint64(per_io)
    return lambda n: (rng.integers(first, first + span, n, dtype=numpy.uint64) * step
                      if n >= 32 else few(n))


async def job(desc: BdevDesc, params: dict[str, Any], first: int, span: int) -> dict[str, Any]:
    """One job on this SPDK thread's channel: I/Os for params' seconds."""
    per_io = max(1, params["io_size"] // desc.block_size)
    io_size = per_io * desc.block_size
    ch = desc.channel()
    bulk: Optional[BulkRun] = None
    state: Union[Run, BulkRun]
    if params["engine"] == "bulk":
        state = bulk = BulkRun(ch, per_io, first, span, params["workload"],
                               params["queue_depth"], io_size)
        start = time.monotonic()
        bulk.start()
    else:
        run = Run(ch, per_io, first, span, params["workload"], params["queue_depth"])
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
    if params["cores"] is not None:
        await ch.close()  # (its thread ends only once its channels are put)
    return {"ios": state.ios, "seconds": elapsed, "iops": ios_at_stop / elapsed,
            "errors": state.errors, "mismatches": state.mismatches}


async def run(params: dict[str, Any]) -> dict[str, Any]:
    desc = BdevDesc.open(params["bdev"], write=params["workload"] != "randread")
    threads: list[thread.Thread] = []
    try:
        units = desc.num_blocks // max(1, params["io_size"] // desc.block_size)
        if params["cores"] is None:
            jobs = [await job(desc, params, 0, units)]
        else:
            threads = [thread.Thread.create("iogen%d" % core, core) for core in params["cores"]]
            share = units // len(threads)
            jobs = await asyncio.gather(*(t.run(job, desc, params, i * share, share)
                                          for i, t in enumerate(threads)))
    finally:
        await desc.close()
        for t in threads:
            t.exit()
    return {"bdev": params["bdev"], "workload": params["workload"], "engine": params["engine"],
            "queue_depth": params["queue_depth"], "io_size": params["io_size"],
            "cores": params["cores"], "ios": sum(j["ios"] for j in jobs),
            "seconds": round(max(j["seconds"] for j in jobs), 3),
            "iops": round(sum(j["iops"] for j in jobs)),
            "job_iops": [round(j["iops"]) for j in jobs],
            "errors": sum(j["errors"] for j in jobs),
            "mismatches": sum(j["mismatches"] for j in jobs)}


async def main() -> int:
    result = await run(parameters())
    print("iogen result: %s" % json.dumps(result), flush=True)
    log.notice("iogen: %d IOPS on %s" % (result["iops"], result["bdev"]))
    return 0 if not result["errors"] and not result["mismatches"] else 1

