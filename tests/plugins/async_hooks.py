"""Async hooks, for tests/integration/test_asyncio.py: a RAM disk whose hooks
are async def (awaiting nothing, or asyncio.sleep first: params {"sleep_ms":
N}; {"stuck": true} never returns; {"raise_every": N} raises in every Nth
write), a RAM disk whose hooks await nothing and one whose hooks yield once (for
bench/bench_asyncio.py), and a passthru whose async submit hook waits for a gate."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any, Optional

from spdk_py.bdev import IoStatus
from spdk_py.examples.ramdisk import RamDisk
from spdk_py.jsonrpc import rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import create_from_rpc, existing


READING: contextvars.ContextVar[int] = contextvars.ContextVar("reading")


class AsyncRamDisk(RamDisk):
    def open(self, params: dict) -> None:
        params = dict(params)
        self.sleep_s = params.pop("sleep_ms", 0) / 1000
        self.stuck = params.pop("stuck", False)
        self.raise_every = params.pop("raise_every", 0)
        self.timeout_ms = params.pop("timeout_ms", self.timeout_ms)
        self.writes = 0
        self.writes_lock = threading.Lock()  # (hooks on every reactor at once)
        self.loops: set[int] = set()
        super().open(params)

    async def _wait(self) -> None:
        self.loops.add(id(asyncio.get_running_loop()))
        if self.stuck:
            await asyncio.Event().wait()
        if self.sleep_s:
            await asyncio.sleep(self.sleep_s)

    async def read(self, io: int, offset: int, buf: Any) -> None:  # type: ignore[override]
        # asyncio.timeout wants a current task: there is one before the first wait too.
        # A context variable set before the first wait is the task's after it
        # (botocore resets its own with the token, after its request).
        token = READING.set(offset)
        async with asyncio.timeout(30):
            await self._wait()
        if READING.get() != offset:
            raise RuntimeError("the context changed across a wait")
        READING.reset(token)
        buf[:] = self.view[offset:offset + len(buf)]

    async def write(self, io: int, offset: int, buf: Any) -> Optional[IoStatus]:  # type: ignore[override]
        await self._wait()
        with self.writes_lock:
            self.writes += 1
            writes = self.writes
        if self.raise_every and writes % self.raise_every == 0:
            raise RuntimeError("injected async write fault")
        self.view[offset:offset + len(buf)] = buf
        return None

    def info(self) -> dict[str, Any]:
        return {"loops": len(self.loops)}


class GatedVbdev(PassthruVbdev):
    """Writes wait, in an async submit hook, while the gate is closed."""

    create_method = "bdev_gated_create"

    def __init__(self, name: str, mode: str) -> None:
        super().__init__(name, mode)
        self.gate = asyncio.Event()
        self.gate.set()
        self.waited = 0
        self.refuse = False

    async def submit_write(self, io: int) -> None:
        if self.refuse:  # raises in its first step, before any wait
            raise RuntimeError("injected gated write fault")
        if not self.gate.is_set():
            self.waited += 1
            async with asyncio.TaskGroup() as group:  # (a current task, as asyncio wants)
                group.create_task(self.gate.wait())
        return None


@rpc_method("bdev_gated_create", params={"base_bdev_name": str, "name": str})
def bdev_gated_create(params: dict) -> str:
    """A passthru whose writes wait while its gate is closed."""
    return create_from_rpc(params, GatedVbdev)


@rpc_method("bdev_gated_set", params={"name": str, "open": bool}, optional={"refuse": bool})
def bdev_gated_set(params: dict) -> int:
    """Open or close the gate (refuse: writes raise at once); how many writes
    waited so far."""
    vb = existing(params["name"], GatedVbdev, "gated")
    vb.gate.set() if params["open"] else vb.gate.clear()
    vb.refuse = params.get("refuse", False)
    return vb.waited


class AwaitNothingRamDisk(RamDisk):
    """The RAM disk's reads and writes as async hooks that await nothing:
    what an async hook costs beyond a sync one."""

    async def read(self, io: int, offset: int, buf: Any) -> None:  # type: ignore[override]
        buf[:] = self.view[offset:offset + len(buf)]

    async def write(self, io: int, offset: int, buf: Any) -> None:  # type: ignore[override]
        self.view[offset:offset + len(buf)] = buf


class OffReactorAsyncRamDisk(AwaitNothingRamDisk):
    """Async hooks off the reactor: refused (they run on the I/O's own loop)."""

    off_reactor = True


class YieldOnceRamDisk(RamDisk):
    """The RAM disk's reads and writes as async hooks that yield to the loop
    once (asyncio.sleep(0)): every I/O a task, the most an async hook costs."""

    async def read(self, io: int, offset: int, buf: Any) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        buf[:] = self.view[offset:offset + len(buf)]

    async def write(self, io: int, offset: int, buf: Any) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        self.view[offset:offset + len(buf)] = buf
