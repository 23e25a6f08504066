"""Example module: a vbdev whose access policy lives in a key-value service,
followed live while I/O runs. ::

    bdev_kv_policy_create {base_bdev_name, name, kv_host, kv_port,
                           key, default_access, wait_ms, uuid}   (the last four optional)
    bdev_kv_policy_get {name}
    bdev_kv_policy_delete {name}

The service speaks one line per request over TCP (tests/kv_server.py is one,
``python -m tests.kv_server 7070`` in a checkout)::

    GET <key>            -> <value>     (an empty line: no such key)
    SET <key> <value>    -> OK
    WATCH <key>          -> <value> at once, then again whenever it changes

The key (default "<name>/access") says "rw" (every I/O goes on) or "ro"
(writes, write-zeroes and unmaps fail; reads go on, in C: Python hooks only
the changing types, as spdk_py.examples.readonly_guard does).

Each vbdev keeps one asyncio task, on the thread that made it (the app
thread's loop): it opens a connection (asyncio.open_connection), sends
WATCH and stores every value it hears in a plain attribute, which the hooks
read on their own reactors. If the service goes away, the vbdev keeps the
access it last heard, logs that once and reconnects with a backoff (0.1 s,
doubling to 2 s); once back, it logs so and takes the value the service has
now. close() (the vbdev deleted, its base removed, the app stopping) cancels
the task, which closes its connection.

Until the service has answered once, a changing I/O waits for the answer in
its ``async def`` submit hook, on its own thread, up to wait_ms (default
1000) after the vbdev was made; then default_access applies ("ro", unless
given: nothing is written before the service has spoken). default_access
also stands for a key the service does not have, or a value that is
neither rw nor ro (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import threading
from typing import Any, Optional

from spdk_py import log, thread, vbdev
from spdk_py.bdev import IoStatus
from spdk_py.jsonrpc import INVALID_PARAMS, RpcError, check_choice, rpc_method
from spdk_py.passthru import PassthruVbdev
from spdk_py.vbdev_rpc import create_from_rpc, existing

ACCESS = ("rw", "ro")
# The reconnect's backoff: the first wait, doubled after every failed attempt up to the last.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0
# A connection attempt that takes longer than this has failed.
CONNECT_TIMEOUT_S = 2.0
# Why the task is not connected, before its first attempt.
NOT_YET = "not connected yet"
# The longest wait_ms: well inside the hooks' own timeout (timeout_ms).
WAIT_MS_MAX = 10000


class KvPolicy(PassthruVbdev):
    """A passthru whose changing I/Os fail while the service says "ro"."""

    product_name = "kv policy"
    create_method = "bdev_kv_policy_create"
    # Hybrid mode would send writes around the hooks, and the policy with them.
    modes = ("python",)

    def __init__(self, name: str, mode: str, kv_host: str, kv_port: int,
                 key: Optional[str] = None, default_access: str = "ro",
                 wait_ms: int = 1000) -> None:
        super().__init__(name, mode)
        self.kv_host, self.kv_port = kv_host, kv_port
        self.key = key or "%s/access" % name
        self.default_access = default_access
        self.wait_ms = wait_ms
        # What the service said last ("rw" or "ro"); None: it has not answered yet.
        # The task writes it, the hooks read it: one store, seen whole on every thread.
        self.access: Optional[str] = None
        self.connected = False
        self.updates = self.reconnects = 0  # (the task's, on one thread)
        self._refused = thread.local(lambda: [0])  # per SPDK thread: hooks run on every reactor
        self._closed = False
        # Hooks waiting for the first answer: a Future each, on its own
        # thread's loop; hooks of every reactor and the task change the list.
        self._waiting: list[asyncio.Future[None]] = []
        self._waiting_lock = threading.Lock()
        loop = asyncio.get_running_loop()  # this thread's (the app thread's, for the RPC)
        self._wait_until = loop.time() + wait_ms / 1000
        self._task = loop.create_task(self._watch(), name="%s: kv policy" % name)

    # The hooks: on the I/O's own thread.
    async def submit_write(self, io: int) -> Optional[IoStatus]:
        return await self._check()

    async def submit_write_zeroes(self, io: int) -> Optional[IoStatus]:
        return await self._check()

    async def submit_unmap(self, io: int) -> Optional[IoStatus]:
        return await self._check()

    async def _check(self) -> Optional[IoStatus]:
        """None (on to the base) or FAILED, as the access says: at once, once
        the service has answered; until then, after its first answer."""
        access = self.access
        if access is None:
            access = await self._first_answer()
        if access == "ro":
            self._refused.get()[0] += 1
            return IoStatus.FAILED
        return None

    async def _first_answer(self) -> str:
        """The access, once the service has answered or wait_ms is over."""
        loop = asyncio.get_running_loop()  # the I/O's thread's
        heard = loop.create_future()
        with self._waiting_lock:
            self._waiting.append(heard)
        try:
            # Again now that it is listed: the task may have answered meanwhile.
            if self.access is None and self._wait_until > loop.time():
                await asyncio.wait_for(heard, self._wait_until - loop.time())
        except asyncio.TimeoutError:
            pass
        finally:
            with self._waiting_lock, contextlib.suppress(ValueError):
                self._waiting.remove(heard)  # (not there once the task answered)
        return self.access or self.default_access

    # The task: on the thread that made the vbdev.
    async def _watch(self) -> None:
        """The vbdev's task: follow the key, reconnecting, until close()."""
        if self._closed:
            return  # closed before it ran (made, but never registered)
        service = "%s:%d" % (self.kv_host, self.kv_port)
        delay, lost = RETRY_FIRST_S, NOT_YET
        try:
            # Until close(): its cancellation, or this flag, for a cancellation
            # wait_for loses (Python < 3.12 drops one that comes as what it
            # waits for fails: here, a connection refused).
            while not self._closed:
                try:
                    await self._follow(service, lost)
                except (OSError, ValueError, asyncio.TimeoutError) as exc:
                    why = str(exc) or type(exc).__name__
                    if self.connected or lost == NOT_YET:
                        # Logged once: when the service was lost, not at every retry.
                        log.warn("%s: %s the policy service at %s (%s): access %s; reconnecting"
                                 % (self.name, "lost" if self.connected else "cannot reach",
                                    service, why, self._now()))
                    if self.connected:
                        delay = RETRY_FIRST_S
                    lost, self.connected = why, False
                if not self._closed:
                    await asyncio.sleep(delay)
                    delay = min(2 * delay, RETRY_MAX_S)
        finally:
            log.notice("%s: no longer watching %s at %s" % (self.name, self.key, service))

    async def _follow(self, service: str, lost: str) -> None:
        """One connection: WATCH the key, and take each value heard, until
        the connection fails (OSError; ValueError: a line too long)."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.kv_host, self.kv_port), CONNECT_TIMEOUT_S)
        try:
            writer.write(("WATCH %s\n" % self.key).encode())
            await writer.drain()
            while True:
                line = await reader.readline()
                if not line.endswith(b"\n"):  # the service closed the connection
                    raise ConnectionResetError("the service closed the connection")
                if not self.connected:  # its first answer: connected now
                    self.connected = True
                    if lost != NOT_YET:
                        self.reconnects += 1
                        log.notice("%s: the policy service at %s is back" % (self.name, service))
                self._heard(line.decode(errors="replace").strip())
        finally:
            writer.close()  # (its socket goes now; nothing to wait for)

    def _heard(self, value: str) -> None:
        """A value from the service: the access from now on; the hooks
        waiting for the first one go on, each woken on its own thread."""
        if value not in ACCESS:
            if value:
                log.error("%s: %s is %r, neither rw nor ro: access %s"
                          % (self.name, self.key, value, self.default_access))
            value = self.default_access
        if value != self.access:
            log.notice("%s: access %s (%s)" % (self.name, value, self.key))
        self.access = value
        self.updates += 1
        with self._waiting_lock:
            waiting, self._waiting = self._waiting, []
        for heard in waiting:
            heard.get_loop().call_soon_threadsafe(_wake, heard)

    def _now(self) -> str:
        return self.access or "unknown (%s after %d ms)" % (self.default_access, self.wait_ms)

    def close(self) -> None:
        """The vbdev is gone: its task ends (on its own loop), and its connection."""
        self._closed = True
        self._task.get_loop().call_soon_threadsafe(self._task.cancel)

    def dump_info(self) -> Optional[tuple[str, dict[str, Any]]]:
        return "kv_policy", self.state()

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "base_bdev_name": self.base_name,
                "service": "%s:%d" % (self.kv_host, self.kv_port), "key": self.key,
                "access": self.access or self.default_access, "heard": self.access is not None,
                "connected": self.connected, "updates": self.updates,
                "reconnects": self.reconnects, "refused": self.refused}

    @property
    def refused(self) -> int:
        """Changing I/Os refused so far, on every thread."""
        return sum(n[0] for n in self._refused.values())

    def config_params(self) -> dict[str, Any]:
        return {"base_bdev_name": self.base_name, "name": self.name, "kv_host": self.kv_host,
                "kv_port": self.kv_port, "key": self.key,
                "default_access": self.default_access, "wait_ms": self.wait_ms,
                "uuid": self.uuid}


def _wake(heard: asyncio.Future[None]) -> None:
    if not heard.done():  # (its wait may have timed out meanwhile)
        heard.set_result(None)


@rpc_method("bdev_kv_policy_create",
            params={"base_bdev_name": str, "name": str, "kv_host": str, "kv_port": int},
            optional={"key": str, "default_access": str, "wait_ms": int, "uuid": str})
def bdev_kv_policy_create(params: dict) -> str:
    """Create a bdev on a base whose writes the key-value service allows (rw) or not (ro)."""
    host, port = params.pop("kv_host"), params.pop("kv_port")
    key, wait_ms = params.pop("key", None), params.pop("wait_ms", 1000)
    if not host:
        raise RpcError(INVALID_PARAMS, "kv_host must not be empty")
    if not 0 < port < 65536:
        raise RpcError(INVALID_PARAMS, "kv_port must be between 1 and 65535")
    if key is not None and (not key or any(c.isspace() for c in key)):
        raise RpcError(INVALID_PARAMS, "key must be one word (no spaces)")
    if not 0 <= wait_ms <= WAIT_MS_MAX:
        raise RpcError(INVALID_PARAMS, "wait_ms must be between 0 and %d" % WAIT_MS_MAX)
    default = check_choice("default_access", params.pop("default_access", "ro"), ACCESS)
    # A partial of the class (not a lambda): a reload can point it at the new class.
    return create_from_rpc(params, functools.partial(KvPolicy, kv_host=host, kv_port=port,
                                                     key=key, default_access=default,
                                                     wait_ms=wait_ms))


@rpc_method("bdev_kv_policy_get", params={"name": str})
def bdev_kv_policy_get(params: dict) -> dict[str, Any]:
    """The vbdev's access now, whether it is connected, and its counts."""
    node: KvPolicy = existing(params["name"], KvPolicy, "kv policy")
    return node.state()


@rpc_method("bdev_kv_policy_delete", params={"name": str})
async def bdev_kv_policy_delete(params: dict) -> bool:
    """Delete a kv policy bdev: true once it is gone (its task ended)."""
    name = params["name"]
    found = vbdev.find(name)
    if found is not None and not isinstance(found, KvPolicy):
        raise RpcError.from_errno(-errno.ENODEV, "no kv policy bdev named %s" % name)
    rc = await vbdev.delete(name)
    if rc:
        raise RpcError.from_errno(rc, "no kv policy bdev named %s" % name)
    return True
