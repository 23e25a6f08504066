"""spdk_py: SPDK bdev modules, Python block devices and Python programs,
loaded into a stock SPDK application (spdk_tgt, nvmf_tgt, bdevperf, spdk_dd).

The API, one module per SPDK concept (each module's docstring is its manual)::

    spdk_py.vbdev         a vbdev over one base: hooks, modes, the registry
    spdk_py.passthru      the passthru port (SPDK's external passthru example)
    spdk_py.disk          a bdev that is the device (a Python disk)
    spdk_py.base_bdevs    a disk over several bases (raid-like), routed in C
    spdk_py.bdev          I/O types, statuses, events
    spdk_py.bdev_io       what a vbdev hook reads of its I/O
    spdk_py.bdev_desc     a bdev opened from Python
    spdk_py.io_channel    Python's own I/O on a thread's channel
    spdk_py.dma           DMA-able buffers
    spdk_py.thread        SPDK threads: pollers, timers, messages
    spdk_py.io_device     per-thread state, for_each_channel
    spdk_py.coroutine     async def on SPDK threads: Future, Task
    spdk_py.jsonrpc       RPC methods in Python
    spdk_py.app           programs: stop()
    spdk_py.nvme_cmd      NVMe commands to a bdev
    spdk_py.file_io       a file's I/O in C (threads, Linux AIO)
    spdk_py.workers       Python worker threads off the reactors' cores
    spdk_py.log           SPDK's log
    spdk_py.errors        the errors raised
    spdk_py.examples      modules written on the API, shipped with it

Each module's RPCs are in its <module>_rpc (vbdev_rpc, passthru_rpc,
disk_rpc, nvme_cmd_rpc). spdk_py._runtime runs inside SPDK (only it touches
the compiled binding); spdk_py.tools runs beside SPDK (the spdk-py command).

This package is imported both by ordinary Python (the CLI, the set-up steps,
the rpc.py plugin, tests) and inside an SPDK target by the shim. Keep this file
import-light: set-up code runs before any dependency is installed.
"""

__version__ = "0.2.0"

__all__ = ["vbdev", "passthru", "disk", "base_bdevs", "bdev", "bdev_io", "bdev_desc",
           "io_channel", "dma", "thread", "io_device", "coroutine", "jsonrpc", "app", "nvme_cmd",
           "file_io", "workers", "log", "errors", "examples", "__version__"]
