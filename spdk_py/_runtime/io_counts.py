"""What an engine counts of its bdev's I/Os: those Python saw, by type, and
the exceptions its hooks raised. Counted per SPDK thread (reactors running
Python together never write the same list), read as sums."""

from __future__ import annotations

from spdk_py._runtime.thread import Local


class IoCounts:
    __slots__ = ("num_types", "_by_thread")

    def __init__(self, num_types: int) -> None:
        self.num_types = num_types
        # [I/Os by type..., exceptions]
        self._by_thread = Local(lambda: [0] * (num_types + 1))

    def here(self) -> list[int]:
        """This thread's counts, to add to: by type, then exceptions last."""
        return self._by_thread.get()

    def python_ios(self) -> list[int]:
        return [sum(column) for column in zip(*self._by_thread.values())][:self.num_types] \
            or [0] * self.num_types

    def exceptions(self) -> int:
        return sum(counts[-1] for counts in self._by_thread.values())


class Counted:
    """An engine's figures, read from its counts (summed over threads)."""

    counts: IoCounts

    @property
    def python_ios(self) -> list[int]:
        """I/Os Python saw, by type."""
        return self.counts.python_ios()

    @property
    def exceptions(self) -> int:
        """Exceptions the per-I/O hooks raised."""
        return self.counts.exceptions()

