"""A disk backed by an S3 object store, through aiobotocore: one object per
extent, async hooks on the reactor, no worker thread. ::

    bdev_python_disk_create {"name": "S3Disk0", "plugin": "examples.aio_s3disk:AioS3Disk",
                             "num_blocks": 8192,
                             "params": {"endpoint": "http://127.0.0.1:5000", "bucket": "disks"}}

The same disk as spdk_py.examples.s3disk, with the same params and the same
objects (either plugin reads what the other wrote): endpoint, bucket
(required); prefix (the disk's name), extent_size (65536 bytes), workers
(8: here, the requests in flight at once, the client's connection pool),
region, access_key, secret_key. An extent never written reads as zeros; a
write that covers part of an extent reads it, changes it and puts it back
(under the extent's asyncio.Lock). The hooks are ``async def``: a request
awaits its HTTP exchange while the reactor polls on, and the reactor never
waits for the GIL behind worker threads. A store that stops answering fails
the I/Os (the client's short timeouts, and the disk's timeout_ms cancels a
hook before any I/O hangs). The objects outlive the target: a disk created
again on the same bucket and prefix finds its data.

The client and the locks belong to one event loop (asyncio's objects do),
the loop of the SPDK thread that created the disk (the app thread): a hook
on another SPDK thread (an NVMe-oF poll group, a bdevperf job) sends its
request there and awaits the answer. That thread lives until the disk is
gone, so the client is closed where it was made, also at the app's stop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, Iterator, Optional, TypeVar

import aiobotocore.config
import aiobotocore.session

from spdk_py import log
from spdk_py.disk import Disk

PARAMS = {"endpoint", "bucket", "prefix", "extent_size", "workers", "region", "access_key",
          "secret_key"}
T = TypeVar("T")


class AioS3Disk(Disk):
    product_name = "Python S3 disk (asyncio)"
    timeout_ms = 10000

    def open(self, params: dict) -> None:
        unknown = set(params) - PARAMS
        missing = {"endpoint", "bucket"} - set(params)
        if unknown or missing:
            raise ValueError("unknown params %s, missing %s (accepted: %s)"
                             % (sorted(unknown), sorted(missing), ", ".join(sorted(PARAMS))))
        self.bucket = params["bucket"]
        self.prefix = params.get("prefix", self.name)
        self.extent = int(params.get("extent_size", 65536))
        if self.extent % self.block_size:
            raise ValueError("extent_size must be a multiple of the block size")
        endpoint = params["endpoint"]
        # open() runs on an SPDK thread (the create RPC's, or the config's):
        # its loop is the disk's home, where the client and the locks live.
        self.home = asyncio.get_running_loop()
        self.session = aiobotocore.session.get_session()
        # Read botocore's S3 model files now, once, as boto3.client() would:
        # otherwise the first request reads them on the reactor, I/Os waiting.
        self.session.warm_up_loader_caches("s3")
        self.client_args = dict(
            service_name="s3", endpoint_url=endpoint,
            region_name=params.get("region", "us-east-1"),
            aws_access_key_id=params.get("access_key", "testing"),
            aws_secret_access_key=params.get("secret_key", "testing"),
            # Plain HTTP has no certificate to check; a verifying client builds
            # its SSL context in a worker thread, which would hold the GIL
            # against the reactor when the first request is sent.
            verify=None if endpoint.startswith("https:") else False,
            config=aiobotocore.config.AioConfig(
                connect_timeout=2, read_timeout=5, retries={"max_attempts": 1},
                max_pool_connections=int(params.get("workers", 8))))
        # The client is made by awaiting (aiobotocore's create_client is an
        # async context manager), under this lock: now, in a task (tens of ms
        # of Python, better before the first I/O than in its way), or again
        # by a request if that failed.
        self.client: Any = None
        self.client_cm: Any = None
        self.client_lock = asyncio.Lock()
        self.closed = False
        self.locks: dict[int, asyncio.Lock] = {}
        self.home.create_task(self._s3()).add_done_callback(self._client_made)

    def close(self) -> None:
        # close() is synchronous, the client's close a coroutine: a task on its
        # loop closes it (its connections, their fd poller).
        self.closed = True
        if self.client_cm is not None:
            cm, self.client_cm, self.client = self.client_cm, None, None
            asyncio.run_coroutine_threadsafe(self._close_client(cm), self.home)

    def info(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "prefix": self.prefix, "extent_size": self.extent}

    # Hooks, on the I/O's own SPDK thread. The work runs on the home loop,
    # which never touches buf: a hook cancelled at its timeout has completed
    # its I/O (failed), and buf is the app's again.
    async def read(self, io: int, offset: int, buf: Any) -> None:
        buf[:] = await self._at_home(self._read(offset, len(buf)))

    async def write(self, io: int, offset: int, buf: Any) -> None:
        await self._at_home(self._write(offset, bytes(buf)))

    def flush(self, io: int, offset: int, length: int) -> None:
        return None  # a put is durable when it returns

    async def _at_home(self, work: Coroutine[Any, Any, T]) -> T:
        """work's result, work run on the home loop: here, or from another
        SPDK thread as a task there, by message there and back
        (call_soon_threadsafe). A cancelled hook cancels work too."""
        if asyncio.get_running_loop() is self.home:
            return await work
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.home))

    # On the home loop.
    async def _s3(self) -> Any:
        """The client (made if need be: open()'s task, or a request after it failed)."""
        if self.client is not None:
            return self.client
        async with self.client_lock:
            if self.client is None:
                cm = self.session.create_client(**self.client_args)
                client = await cm.__aenter__()
                if self.closed:  # the disk went while it was being made
                    await cm.__aexit__(None, None, None)
                    raise RuntimeError("%s is closed" % self.name)
                self.client_cm, self.client = cm, client
        return self.client

    def _client_made(self, task: asyncio.Task) -> None:
        if not task.cancelled():
            task.exception()  # seen (asyncio would log it): the next request says why

    async def _close_client(self, cm: Any) -> None:
        try:
            await cm.__aexit__(None, None, None)
        except Exception as exc:  # nothing awaits this task: say it here
            log.error("%s: closing the S3 client: %s" % (self.name, exc))

    def _key(self, index: int) -> str:
        return "%s/%012d" % (self.prefix, index)

    async def _get(self, index: int) -> bytes:
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=self._key(index))
        except s3.exceptions.NoSuchKey:
            return bytes(self.extent)
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def _put(self, index: int, body: bytes) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self._key(index), Body=body)

    def _lock(self, index: int) -> asyncio.Lock:
        lock: Optional[asyncio.Lock] = self.locks.get(index)
        if lock is None:
            lock = self.locks[index] = asyncio.Lock()
        return lock

    def _pieces(self, offset: int, length: int) -> Iterator[tuple[int, int, int, int]]:
        """(extent index, offset in it, length in it, offset in the I/O) of each extent touched."""
        done = 0
        while done < length:
            index, start = divmod(offset + done, self.extent)
            n = min(self.extent - start, length - done)
            yield index, start, n, done
            done += n

    async def _read(self, offset: int, length: int) -> bytearray:
        out = bytearray(length)
        for index, start, n, at in self._pieces(offset, length):
            async with self._lock(index):
                data = await self._get(index)
            out[at:at + n] = data[start:start + n]
        return out

    async def _write(self, offset: int, data: bytes) -> None:
        for index, start, n, at in self._pieces(offset, len(data)):
            async with self._lock(index):
                if n == self.extent:
                    body = data[at:at + n]
                else:
                    extent = bytearray(await self._get(index))
                    extent[start:start + n] = data[at:at + n]
                    body = bytes(extent)
                await self._put(index, body)
