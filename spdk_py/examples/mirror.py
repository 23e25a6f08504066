"""A RAID1 mirror in Python, over any bdevs (spdk_py.base_bdevs). ::

    SPDK_PY_PLUGINS=spdk_py.passthru,examples.mirror spdk-py run -- ...
    rpc.py bdev_pymirror_create -n Mirror0 -b "Malloc0 Malloc1"   # or {"base_bdevs": [...]}
    rpc.py bdev_pymirror_get -n Mirror0
    rpc.py bdev_pymirror_add_base -n Mirror0 -b Malloc2           # resyncs in the background
    # (optional "resync_max_bandwidth_mb_sec": the resync's copy rate, as raid's
    #  process_max_bandwidth_mb_sec; 0, the default: as fast as the bases go)
    rpc.py bdev_pymirror_delete -n Mirror0

Writes (and write_zeroes, unmap) go to every usable base, reads to one online
base (round robin; a failed read is retried on the next). Flush and reset go
to every online base. A base that fails an I/O, or is removed, leaves the
mirror: it serves on, degraded. A base added back is resynced from an online
one, in chunks, while I/O goes on; it takes writes meanwhile, and reads once it
is in sync. The mirror keeps no on-disk metadata, as SPDK's raid1 without a
superblock: a base holds exactly the mirrored blocks.

The per-I/O work is C's (spdk_py.base_bdevs' routing): route() looks up, by
I/O type, the bases an I/O goes to, and C sends the children. While a resync
runs, writes take the Python path below instead (the hooks), behind the range
lock; reads are routed still (they go to online bases only).

Resync against concurrent writes: each write holds its range for its life;
a chunk being copied waits for the writes in its range, and writes to it wait
for the copy (then go on, on their own threads). So a copy never reads data
that a write then changes behind it.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import threading
import time
from typing import Any, Callable, Optional

from spdk_py import disk, dma, log, thread
from spdk_py.base_bdevs import ONLINE, RESYNCING, BaseBdev, MultiBaseDisk
from spdk_py.bdev import IoStatus, IoType
from spdk_py.bdev_desc import BdevDesc, exists
from spdk_py.disk import Later
from spdk_py.errors import BdevError
from spdk_py.jsonrpc import INVALID_PARAMS, Request, RpcError, rpc_method

PLUGIN = "examples.mirror:Mirror"
RESYNC_CHUNK_BYTES = 1 << 20

# Mirrors created before all their bases exist (as SPDK's raid, they wait,
# "configuring"): by name, their create params. A --json config may list them
# before their bases.
configuring: dict[str, dict] = {}


class RangeLock:
    """Writes hold ranges; one range at a time (the resync's) is locked.
    Shared by every reactor: a mutex held only for the bookkeeping."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.held: dict[int, tuple[int, int]] = {}  # key -> (start, end) of a write in flight
        self.keys = 0
        self.locked: Optional[tuple[int, int]] = None  # (start, end) the resync copies
        self.waiting: list[tuple[Any, Callable]] = []  # (thread, retry) of writes that met it
        self.drained: Optional[tuple[Any, asyncio.Future[None]]] = None  # the resync awaits it

    def enter(self, start: int, end: int, retry: Callable[[], Any]) -> Optional[int]:
        """A write's range: its key, or None if it waits (retry() later, on this thread)."""
        with self.mutex:
            locked = self.locked
            if locked is not None and start < locked[1] and locked[0] < end:
                self.waiting.append((thread.current(), retry))
                return None
            self.keys += 1
            self.held[self.keys] = (start, end)
            return self.keys

    def leave(self, key: int) -> None:
        with self.mutex:
            del self.held[key]
            drained = self.drained
            if drained is None or (self.locked is not None and self._busy(self.locked)):
                return
            self.drained = None
        drained[0].send(drained[1].set_result, None)

    def _busy(self, rng: tuple[int, int]) -> bool:
        return any(s < rng[1] and rng[0] < e for s, e in self.held.values())

    def lock(self, start: int, end: int) -> asyncio.Future[None]:
        """On the resync's thread: a Future done once no write holds [start, end)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self.mutex:
            self.locked = (start, end)
            if self._busy((start, end)):
                self.drained = (thread.current(), future)
                return future
        future.set_result(None)
        return future

    def unlock(self) -> None:
        with self.mutex:
            self.locked = None
            waiting, self.waiting = self.waiting, []
        for where, retry in waiting:
            where.send(retry)


class Mirror(MultiBaseDisk):
    product_name = "Python mirror"

    def open(self, params: dict) -> None:
        self.lock = RangeLock()
        self.resync: Optional[dict[str, Any]] = None  # base, done_blocks, total_blocks
        self.resyncs_done = 0
        self.routes = [0] * 32
        super().open(params)

    # Routing: by I/O type, the bases C sends it to (0: the hooks below).
    def route(self, io_type: int, offset_blocks: int, num_blocks: int) -> int:
        return self.routes[io_type]

    def bases_changed(self) -> None:
        online = self.mask(b for b in self.bases if b.state == ONLINE)
        usable = self.mask(self.usable_bases())
        unmap = self.mask(b for b in self.usable_bases() if b.supports(IoType.UNMAP))
        routes = [0] * 32
        routes[IoType.READ] = online
        routes[IoType.FLUSH] = routes[IoType.RESET] = online
        if self.resync is None:  # else writes hold the range lock, in Python
            routes[IoType.WRITE] = routes[IoType.WRITE_ZEROES] = usable
            routes[IoType.UNMAP] = unmap
        self.routes = thread.read_by_every_reactor(routes)  # (route() reads it per I/O)

    # Reads are always routed while a base is online (C sends each to one of
    # them, round robin, and retries a failed one on the next): the hook meets
    # a read only when none is.
    def read(self, io: int, offset: int, buf: Any) -> IoStatus:
        return IoStatus.FAILED

    # Writes, write_zeroes, unmap: every usable base, under the range lock.
    def write(self, io: int, offset: int, buf: Any) -> Later:
        later = self.later(io)
        data = later.buffer
        assert data is not None  # a write has data
        self._fan_out(later, "write_blocks", offset // self.block_size,
                      len(data) // self.block_size, data)
        return later

    def write_zeroes(self, io: int, offset: int, length: int) -> Later:
        later = self.later(io)
        self._fan_out(later, "write_zeroes_blocks", offset // self.block_size,
                      length // self.block_size, None)
        return later

    def unmap(self, io: int, offset: int, length: int) -> Later:
        later = self.later(io)
        self._fan_out(later, "unmap_blocks", offset // self.block_size,
                      length // self.block_size, None)
        return later

    def _fan_out(self, later: Later, method: str, lba: int, n: int, buf: Any) -> None:
        key = self.lock.enter(lba, lba + n, lambda: self._fan_out(later, method, lba, n, buf))
        if key is None:
            return  # behind the resync's copy: retried on this thread after it
        targets = [b for b in self.bases if b.usable]
        if method == "unmap_blocks":  # a hint: bases without it have nothing to do
            targets = [b for b in targets if b.supports(IoType.UNMAP)]
        self._all(later, method, lba, n, buf, targets, functools.partial(self.lock.leave, key))

    # Flush and reset: every online base.
    def flush(self, io: int, offset: int, length: int) -> Later:
        later = self.later(io)
        self._all(later, "flush_blocks", offset // self.block_size, length // self.block_size,
                  None, [b for b in self.bases if b.state == ONLINE])
        return later

    def reset(self, io: int) -> Later:
        later = self.later(io)
        self._all(later, "reset", None, None, None, [b for b in self.bases if b.state == ONLINE])
        return later

    def _all(self, later: Later, method: str, lba: Optional[int], n: Optional[int], buf: Any,
             targets: list[BaseBdev], after: Optional[Callable[[], Any]] = None) -> None:
        """method on each target; the parent succeeds if an online base did."""
        if not targets:
            if after:
                after()
            later.done() if method in ("unmap_blocks", "flush_blocks") else later.fail()
            return
        left = [len(targets)]
        ok = [False]

        def one(base: BaseBdev, status: int) -> None:
            if status == 0:
                ok[0] = ok[0] or base.state == ONLINE
            else:
                self.child_failed(base, status)
            left[0] -= 1
            if left[0] == 0:
                if after:
                    after()
                later.done() if ok[0] else later.fail()
        for base in targets:
            if method == "reset":
                base.count_io()
                try:
                    base.channel().reset(cb=functools.partial(one, base))
                except OSError as exc:
                    one(base, -(exc.errno or errno.EIO))
            else:
                assert lba is not None and n is not None
                self.child(base, method, lba, n, buf, functools.partial(one, base))

    def child_failed(self, base: BaseBdev, status: int) -> None:
        super().child_failed(base, status)
        resync = self.resync  # (read once: the resync may end meanwhile, on the app thread)
        if resync is not None and resync["base"] is base:
            log.error("%s: resync of %s stopped: it failed" % (self.name, base.name))

    # Resync: a base brought online by copying, in chunks, from an online one.
    def start_resync(self, base: BaseBdev, max_mb_sec: int = 0) -> None:
        self.resync = {"base": base, "done_blocks": 0, "total_blocks": self.num_blocks,
                       "max_bandwidth_mb_sec": max_mb_sec}
        self._bases_changed()  # (under the state lock: a reactor's fail() rebuilds too)
        task = asyncio.get_running_loop().create_task(
            self._resync(base, max_mb_sec), name="%s resync of %s" % (self.name, base.name))
        task.add_done_callback(lambda t: t.exception())  # logged inside; retrieved here

    async def _resync(self, base: BaseBdev, max_mb_sec: int = 0) -> None:
        chunk = max(1, RESYNC_CHUNK_BYTES // self.block_size)
        buf = dma.Buffer(chunk * self.block_size, align=base.desc.buf_align)
        lba = 0
        started = time.monotonic()
        progress = self.resync or {}
        log.notice("%s: resyncing %s (%d blocks)" % (self.name, base.name, self.num_blocks))
        try:
            await self._drain_routed_writes()
            while lba < self.num_blocks:
                if base.state != RESYNCING or self.deleting:
                    return
                n = min(chunk, self.num_blocks - lba)
                await self.lock.lock(lba, lba + n)
                try:
                    if not await self._copy(buf, lba, n, base):
                        return
                finally:
                    self.lock.unlock()
                lba += n
                progress["done_blocks"] = lba
                if max_mb_sec:  # no faster than that: wait (holding no range) until due
                    due = started + lba * self.block_size / (max_mb_sec * 1e6)
                    ahead_us = int((due - time.monotonic()) * 1e6)
                    if ahead_us > 0:
                        await thread.sleep(ahead_us)
            base.state = ONLINE
            self.resyncs_done += 1
            log.notice("%s: %s is in sync: online" % (self.name, base.name))
        finally:
            self.resync = None
            self._bases_changed()

    async def _drain_routed_writes(self) -> None:
        """Writes routed in C before the resync began hold no range: wait for
        them. A message round on every thread first: no batch is still between
        its route and its children."""
        await thread.for_each_thread(lambda: None)
        while self.forwarding_writes() > 0:
            await thread.sleep(100)

    async def _copy(self, buf: dma.Buffer, lba: int, n: int, target: BaseBdev) -> bool:
        for source in [b for b in self.bases if b.state == ONLINE]:
            try:
                await source.channel().read_blocks(buf, lba, n)
            except OSError as exc:
                self.child_failed(source, -(exc.errno or errno.EIO))
                continue
            try:
                await target.channel().write_blocks(buf, lba, n)
                return True
            except OSError as exc:
                self.child_failed(target, -(exc.errno or errno.EIO))
                return False
        log.error("%s: resync of %s stopped: no online base to copy from"
                  % (self.name, target.name))
        return False

    # Control.
    def state(self) -> str:
        online = sum(b.state == ONLINE for b in self.bases)
        return "online" if online == len(self.bases) else "degraded" if online else "failed"

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["state"] = self.state()
        out["resyncs_done"] = self.resyncs_done
        if self.resync is not None:
            r = self.resync
            out["resync"] = {"base_bdev": r["base"].name, "done_blocks": r["done_blocks"],
                             "total_blocks": r["total_blocks"],
                             "max_bandwidth_mb_sec": r["max_bandwidth_mb_sec"],
                             "percent": round(100.0 * r["done_blocks"] / r["total_blocks"], 1)}
        return out

    def config_entry(self) -> dict[str, Any]:
        # Only online bases: one still resyncing holds stale blocks.
        return {"method": "bdev_pymirror_create", "params": {
            "name": self.name, "uuid": self.uuid,
            "base_bdevs": [b.name for b in self.bases if b.state == ONLINE]}}


def _mirror(name: str) -> Mirror:
    found = disk.find(name)
    if not isinstance(found, Mirror):
        raise RpcError.from_errno(-errno.ENODEV, "no Python mirror named %s" % name)
    return found


def _geometry(names: list[str]) -> tuple[int, int]:
    """(block_size, num_blocks) a mirror over these bdevs has, or RpcError."""
    sizes = []
    for name in names:
        try:
            desc = BdevDesc.open(name, write=False)
        except BdevError as exc:
            raise RpcError.from_errno(-(exc.errno or errno.ENODEV), "base bdev %s" % name) \
                from None
        sizes.append((desc.block_size, desc.num_blocks))
        desc.close()
    if len({bs for bs, _ in sizes}) != 1:
        raise RpcError(INVALID_PARAMS, "base bdevs %s differ in block size" % ", ".join(names))
    return sizes[0][0], min(n for _, n in sizes)


@rpc_method("bdev_pymirror_create", params={"name": str, "base_bdevs": list},
            optional={"uuid": str}, short={"name": "-n", "base_bdevs": "-b", "uuid": "-u"})
def create(params: dict) -> str:
    """Create a RAID1 mirror over base_bdevs (all assumed to hold the same data).
    Bases that do not exist yet are waited for: the mirror is "configuring"
    until the last one appears."""
    name, names = params["name"], params["base_bdevs"]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise RpcError(INVALID_PARAMS, "base_bdevs must be a non-empty list of bdev names")
    if len(set(names)) != len(names):
        raise RpcError(INVALID_PARAMS, "base_bdevs names a bdev twice")
    if name in configuring or exists(name):
        raise RpcError.from_errno(-errno.EEXIST, "bdev %s exists already" % name)
    missing = [n for n in names if not exists(n)]
    if missing:
        configuring[name] = dict(params)
        log.notice("%s: waiting for base bdev(s) %s" % (name, ", ".join(missing)))
        return name
    _build(params)
    return name


def _build(params: dict) -> None:
    block_size, num_blocks = _geometry(params["base_bdevs"])
    disk.create(params["name"], PLUGIN, num_blocks, block_size, params.get("uuid"),
                {"base_bdevs": params["base_bdevs"]})


def examine(bdev_name: str) -> None:
    """A new bdev: a configuring mirror that was waiting for it may be complete."""
    for name, params in list(configuring.items()):
        if bdev_name in params["base_bdevs"] and all(exists(n) for n in params["base_bdevs"]):
            del configuring[name]
            try:
                _build(params)
            except RpcError as exc:
                log.error("%s: cannot be built over its bases: %s" % (name, exc.message))


def config_json() -> list[str]:
    return [json.dumps({"method": "bdev_pymirror_create", "params": params})
            for params in configuring.values()]


@rpc_method("bdev_pymirror_add_base", params={"name": str, "base_bdev_name": str},
            optional={"resync_max_bandwidth_mb_sec": int},
            short={"name": "-n", "base_bdev_name": "-b"})
def add_base(params: dict) -> bool:
    """Add a base to a mirror and resync it in the background (at most
    resync_max_bandwidth_mb_sec MB/s if given and not 0)."""
    mirror, name = _mirror(params["name"]), params["base_bdev_name"]
    max_mb_sec = params.get("resync_max_bandwidth_mb_sec", 0)
    if max_mb_sec < 0:
        raise RpcError(INVALID_PARAMS, "resync_max_bandwidth_mb_sec must be 0 (no limit) or more")
    if any(b.name == name and b.usable for b in mirror.bases):
        raise RpcError.from_errno(-errno.EEXIST, "%s is a base of %s already" % (name, mirror.name))
    if mirror.resync is not None:
        raise RpcError.from_errno(-errno.EBUSY, "%s is resyncing %s: one at a time"
                                  % (mirror.name, mirror.resync["base"].name))
    if not any(b.state == ONLINE for b in mirror.bases):
        raise RpcError.from_errno(-errno.ENODATA, "%s has no online base to copy from"
                                  % mirror.name)
    try:
        base = mirror.add_base(name, state=RESYNCING)
    except ValueError as exc:
        code = -errno.ENODEV if "does not exist" in str(exc) else INVALID_PARAMS
        raise RpcError(code, str(exc)) from None
    mirror.start_resync(base, max_mb_sec)
    return True


@rpc_method("bdev_pymirror_get", params={"name": str}, short={"name": "-n"})
def get(params: dict) -> dict[str, Any]:
    """A mirror's state, bases and resync progress."""
    waiting = configuring.get(params["name"])
    if waiting is not None:
        return {"name": params["name"], "state": "configuring",
                "missing": [n for n in waiting["base_bdevs"] if not exists(n)]}
    mirror = _mirror(params["name"])
    return {"name": mirror.name, "num_blocks": mirror.num_blocks,
            "block_size": mirror.block_size, **mirror.info()}


@rpc_method("bdev_pymirror_delete", params={"name": str}, deferred=True, short={"name": "-n"})
def delete(request: Request, params: dict) -> None:
    """Delete a mirror; its bases are released (their data stays)."""
    if configuring.pop(params["name"], None) is not None:
        request.result(True)
        return
    _mirror(params["name"])

    def done(future: asyncio.Future[int]) -> None:
        rc = future.result()
        if rc:
            request.error(rc, "delete of %s failed: %d" % (params["name"], rc))
        else:
            request.result(True)
    disk.delete(params["name"]).add_done_callback(done)

