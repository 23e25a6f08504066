"""What the long set-up steps print, and the lock that serialises them on one cache.

Standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
import time
from pathlib import Path
from typing import Iterator


def say(message: str) -> None:
    print(f"[spdk_py] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """One line when a long step starts and one with its elapsed time when it ends."""
    start = time.monotonic()
    say(f"{what} ...")
    yield
    say(f"{what}: done in {time.monotonic() - start:.1f} s")


@contextlib.contextmanager
def locked(cache: Path) -> Iterator[None]:
    """Serialises builds sharing one cache (two shells, CI jobs); fast paths need no lock."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another spdk_py build to finish (lock {cache / '.lock'})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
