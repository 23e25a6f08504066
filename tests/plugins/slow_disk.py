"""A RAM disk whose reads complete late (or never), for the deferred path's
failure cases: params {"delay_ms": N} completes each read N ms later from
another thread (one per disk); {"stuck": true} never completes a read (after the first stuck_after,
64 by default: a host's examine reads first); {"raise_every": N} raises in
every Nth write hook; {"spin_ms": N} holds the GIL N ms in each write hook;
{"timeout_ms": N} sets the disk's timeout. OffReactorSlowDisk is the same
with its hooks on spdk_py's Python thread (Disk.off_reactor). info() names
the threads the hooks ran on."""

import heapq
import itertools
import threading
import time

from examples.ramdisk import RamDisk


class Completer:
    """One thread that calls each fn at its time: a Timer per read would
    start a thread per I/O (on CPython 3.14t, ~50 ms each on a busy core)."""

    def __init__(self):
        self.due = []  # (when, seq, fn)
        self.seq = itertools.count()
        self.changed = threading.Condition()
        threading.Thread(target=self._run, name="slow_disk", daemon=True).start()

    def later(self, delay_s, fn):
        with self.changed:
            heapq.heappush(self.due, (time.monotonic() + delay_s, next(self.seq), fn))
            self.changed.notify()

    def _run(self):
        while True:
            with self.changed:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.changed.wait(self.due[0][0] - time.monotonic() if self.due else None)
                _, _, fn = heapq.heappop(self.due)
            fn()


class SlowDisk(RamDisk):
    def open(self, params):
        params = dict(params)
        self.delay_ms = params.pop("delay_ms", 0)
        self.stuck = params.pop("stuck", False)
        self.stuck_after = params.pop("stuck_after", 64)
        self.reads = 0
        self.raise_every = params.pop("raise_every", 0)
        self.timeout_ms = params.pop("timeout_ms", self.timeout_ms)
        self.spin_s = params.pop("spin_ms", 0) / 1000
        self.writes = 0
        self.hook_threads = set()  # native thread ids
        self.late = {"done": 0, "dropped": 0}
        self.lock = threading.Lock()  # (hooks on every reactor, the completer)
        self.completer = Completer()
        super().open(params)

    def read(self, io, offset, buf):
        self.hook_threads.add(threading.get_native_id())
        with self.lock:
            self.reads += 1
            reads = self.reads
        if self.stuck and reads > self.stuck_after:
            return self.later(io)
        later = self.later(io)
        data = bytes(self.view[offset:offset + len(later.buffer)])

        def finish():
            later.buffer[:] = data
            outcome = "done" if later.done() else "dropped"
            with self.lock:
                self.late[outcome] += 1
        self.completer.later(self.delay_ms / 1000, finish)
        return later

    def write(self, io, offset, buf):
        self.hook_threads.add(threading.get_native_id())
        with self.lock:
            self.writes += 1
            writes = self.writes
        deadline = time.perf_counter() + self.spin_s
        while time.perf_counter() < deadline:
            pass
        if self.raise_every and writes % self.raise_every == 0:
            raise RuntimeError("injected write fault")
        return super().write(io, offset, buf)

    def info(self):
        return {"late": dict(self.late), "hook_threads": sorted(map(_thread_name,
                                                                     self.hook_threads))}


def _thread_name(tid):
    try:
        with open("/proc/self/task/%d/comm" % tid) as f:
            return f.read().strip()
    except FileNotFoundError:
        return "ended"


class OffReactorSlowDisk(SlowDisk):
    off_reactor = True


class OffReactorRoutingDisk(OffReactorSlowDisk):
    """Refused: routing to bases happens in C on the reactor."""

    def route(self, io_type, offset_blocks, num_blocks):
        return 0
