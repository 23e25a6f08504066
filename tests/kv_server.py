"""A tiny key-value service, in spdk_py.examples.kv_policy's line protocol
over TCP: asyncio, in a thread of its own (the tests' process). ::

    GET <key>            -> <value>     (an empty line: no such key)
    SET <key> <value>    -> OK
    DEL <key>            -> OK
    WATCH <key>          -> <value> at once, then again whenever it changes

    server = KvServer().start()       # on 127.0.0.1, a free port: server.port
    server.set("Kv0/access", "ro")    # the watchers hear it
    server.stop()                     # gone: listener and connections closed
    server.start()                    # back on the same port, with the same values

By hand: ``python -m tests.kv_server [port]`` serves until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Optional


class KvServer:
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.values: dict[str, str] = {}   # kept across stop() and start()
        self.watchers: dict[str, set[asyncio.StreamWriter]] = {}
        self.connections = 0               # accepted so far, in all
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[asyncio.base_events.Server] = None
        self._clients: set[asyncio.StreamWriter] = set()

    # From the test's thread.
    def start(self) -> "KvServer":
        """Listen (again), on the same port after the first start."""
        assert self._thread is None, "already serving"
        loop = self._loop = asyncio.new_event_loop()
        self._server = loop.run_until_complete(asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True))
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=loop.run_forever, name="kv_server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Gone, as if killed: the listener and every connection closed."""
        if self._thread is None:
            return
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._thread = self._loop = self._server = None

    def set(self, key: str, value: str) -> None:
        """key = value; its watchers hear it (also while stopped: they hear it on return)."""
        self._call(self._store, key, value)

    def delete(self, key: str) -> None:
        self._call(self._store, key, None)

    def _call(self, fn, *args) -> None:
        if self._loop is None:
            fn(*args)
            return
        done = threading.Event()

        def run() -> None:
            try:
                fn(*args)
            finally:
                done.set()
        self._loop.call_soon_threadsafe(run)
        assert done.wait(10), "the server's loop does not run"

    # On the server's loop.
    def _store(self, key: str, value: Optional[str]) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value
        for writer in list(self.watchers.get(key, ())):
            writer.write(b"%s\n" % (value or "").encode())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._clients.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb, _, rest = line.decode().strip().partition(" ")
                key, _, value = rest.partition(" ")
                if verb == "GET":
                    writer.write(b"%s\n" % self.values.get(key, "").encode())
                elif verb == "SET" and key:
                    self._store(key, value)
                    writer.write(b"OK\n")
                elif verb == "DEL" and key:
                    self._store(key, None)
                    writer.write(b"OK\n")
                elif verb == "WATCH" and key:
                    self.watchers.setdefault(key, set()).add(writer)
                    writer.write(b"%s\n" % self.values.get(key, "").encode())
                else:
                    writer.write(b"ERR unknown request\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for watching in self.watchers.values():
                watching.discard(writer)
            self._clients.discard(writer)
            writer.close()

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        await self._server.wait_closed()


if __name__ == "__main__":
    server = KvServer(int(sys.argv[1]) if len(sys.argv) > 1 else 7070).start()
    print("kv server on %s:%d (Ctrl-C stops it)" % (server.host, server.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
