"""The file disk with a busy worker pool: each worker spins in pure Python
(holding the GIL) for spin_us before its I/O, as an object-store client's
parsing would. For measuring how long a reactor waits to enter Python."""

import time

from examples.filedisk import FileDisk


class BusyFileDisk(FileDisk):
    def open(self, params):
        params = dict(params)
        self.spin_s = params.pop("spin_us", 1000) / 1e6
        super().open(params)

    def _transfer(self, call, later, offset):
        deadline = time.perf_counter() + self.spin_s
        while time.perf_counter() < deadline:
            pass
        super()._transfer(call, later, offset)
