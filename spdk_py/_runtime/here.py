"""Which SPDK thread this OS thread runs Python for now: its event loop, set
as C enters Python (loop.enter). Read where it must be cheap (thread.local,
per I/O): asyncio's own _get_running_loop() makes a getpid() system call on
every call in CPython 3.11."""

from __future__ import annotations

import threading

# .loop: the SPDK thread's loop (None: no SPDK thread). (A threading.local's
# reference count is deferred already on a free-threaded CPython.)
current = threading.local()
