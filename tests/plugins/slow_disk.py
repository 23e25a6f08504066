"""A RAM disk whose reads complete late (or never), for the deferred path's
failure cases: params {"delay_ms": N} completes each read N ms later from a
thread; {"stuck": true} never completes a read (after the first stuck_after,
64 by default: a host's examine reads first); {"raise_every": N} raises in
every Nth write hook; {"timeout_ms": N} sets the disk's timeout."""

import threading

from examples.ramdisk import RamDisk


class SlowDisk(RamDisk):
    def open(self, params):
        params = dict(params)
        self.delay_ms = params.pop("delay_ms", 0)
        self.stuck = params.pop("stuck", False)
        self.stuck_after = params.pop("stuck_after", 64)
        self.reads = 0
        self.raise_every = params.pop("raise_every", 0)
        self.timeout_ms = params.pop("timeout_ms", self.timeout_ms)
        self.writes = 0
        self.late = {"done": 0, "dropped": 0}
        super().open(params)

    def read(self, io, offset, buf):
        self.reads += 1
        if self.stuck and self.reads > self.stuck_after:
            return self.later(io)
        later = self.later(io)
        data = bytes(self.view[offset:offset + len(later.buffer)])

        def finish():
            later.buffer[:] = data
            self.late["done" if later.done() else "dropped"] += 1
        threading.Timer(self.delay_ms / 1000, finish).start()
        return later

    def write(self, io, offset, buf):
        self.writes += 1
        if self.raise_every and self.writes % self.raise_every == 0:
            raise RuntimeError("injected write fault")
        return super().write(io, offset, buf)

    def info(self):
        return {"late": dict(self.late)}
