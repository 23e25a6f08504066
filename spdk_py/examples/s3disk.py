"""A disk backed by an S3 object store, through boto3: one object per extent. ::

    bdev_python_disk_create {"name": "S3Disk0", "plugin": "examples.s3disk:S3Disk",
                             "num_blocks": 8192,
                             "params": {"endpoint": "http://127.0.0.1:5000", "bucket": "disks"}}

params: endpoint, bucket (required); prefix (the disk's name), extent_size
(65536 bytes), workers (8), region, access_key, secret_key. An extent never
written reads as zeros; a write that covers part of an extent reads it,
changes it and puts it back (under the extent's lock). Requests run in
worker threads (boto3 blocks); a store that stops answering fails the I/Os
(boto3's own timeouts, and the disk's timeout_ms before any I/O hangs).
The objects outlive the target: a disk created again on the same bucket and
prefix finds its data.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import boto3
import botocore.config
import botocore.exceptions

from spdk_py import log, workers
from spdk_py.disk import Disk, Later

PARAMS = {"endpoint", "bucket", "prefix", "extent_size", "workers", "region", "access_key",
          "secret_key"}


class S3Disk(Disk):
    product_name = "Python S3 disk"
    timeout_ms = 10000
    # boto3 runs in Python workers: the hooks run off the reactor, which never
    # waits for the GIL behind them.
    off_reactor = True

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
        self.s3 = boto3.client(
            "s3", endpoint_url=params["endpoint"], region_name=params.get("region", "us-east-1"),
            aws_access_key_id=params.get("access_key", "testing"),
            aws_secret_access_key=params.get("secret_key", "testing"),
            config=botocore.config.Config(connect_timeout=2, read_timeout=5,
                                          retries={"max_attempts": 1}))
        self.locks: dict[int, threading.Lock] = {}
        self.locks_lock = threading.Lock()
        self.pool = workers.Pool(int(params.get("workers", 8)), self.name)

    def close(self) -> None:
        self.pool.close()

    def info(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "prefix": self.prefix, "extent_size": self.extent}

    # Hooks: every request goes to a worker.
    def read(self, io: int, offset: int, buf: Any) -> Later:
        later = self.later(io)
        self.pool.put(self._request, self._read, later, offset)
        return later

    def write(self, io: int, offset: int, buf: Any) -> Later:
        later = self.later(io)
        self.pool.put(self._request, self._write, later, offset)
        return later

    def flush(self, io: int, offset: int, length: int) -> None:
        return None  # a put is durable when it returns

    # In the workers.
    def _request(self, call: Callable[[Later, int], None], later: Later, offset: int) -> None:
        try:
            call(later, offset)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            log.error("%s: %s" % (self.name, exc))
            later.fail()
        else:
            later.done()

    def _key(self, index: int) -> str:
        return "%s/%012d" % (self.prefix, index)

    def _get(self, index: int) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self._key(index))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return bytes(self.extent)

    def _lock(self, index: int) -> threading.Lock:
        with self.locks_lock:
            return self.locks.setdefault(index, threading.Lock())

    def _pieces(self, offset: int, length: int) -> Iterator[tuple[int, int, int, int]]:
        """(extent index, offset in it, length in it, offset in the I/O) of each extent touched."""
        done = 0
        while done < length:
            index, start = divmod(offset + done, self.extent)
            n = min(self.extent - start, length - done)
            yield index, start, n, done
            done += n

    def _read(self, later: Later, offset: int) -> None:
        out = later.buffer
        assert out is not None  # a read has data
        for index, start, n, at in self._pieces(offset, len(out)):
            with self._lock(index):
                data = self._get(index)
            out[at:at + n] = data[start:start + n]

    def _write(self, later: Later, offset: int) -> None:
        data = later.buffer
        assert data is not None  # a write has data
        for index, start, n, at in self._pieces(offset, len(data)):
            with self._lock(index):
                if n == self.extent:
                    body = bytearray(data[at:at + n])
                else:
                    body = bytearray(self._get(index))
                    body[start:start + n] = data[at:at + n]
                self.s3.put_object(Bucket=self.bucket, Key=self._key(index), Body=bytes(body))
