"""Python disks against SPDK's own bdevs, and against nbdkit's Python plugin.

    .venv/bin/python bench/bench_disk.py [--seconds 3] [--runs 2] [--no-nbdkit]

bdevperf 4K randread and randwrite, QD1 and QD128, on 1 core (and QD128 on
2, -m 0x3 -C): examples/ramdisk.py against SPDK's malloc bdev, and
examples/filedisk.py (O_DIRECT; its Linux AIO engine, and its 64 C threads)
against SPDK's AIO bdev (which
opens its file O_DIRECT) on the same file, written through first. The same
RAM-disk logic as an nbdkit Python plugin (Debian's nbdkit and
nbdkit-plugin-python), nbdkit pinned to one core and fio's nbd engine on the
other, at the same queue depths: per-core IOPS of each. And the longest a
reactor waited to enter Python (the GIL) with a busy worker pool, the
disk's hooks on the reactor and off it. Ratios are
what to compare across machines. Prints a table, writes JSON and a PNG chart
under bench/results/.
"""

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_passthru  # noqa: E402
from spdk_py.tools import debian, hugepages, launch, nvmf, provision, shim  # noqa: E402
from spdk_py.tools.process import SpdkProcess, parse_bdevperf, run_app  # noqa: E402

BLOCKS = 131072          # 64 MiB of 512-byte blocks
RAM = "examples.ramdisk:RamDisk"
FILE = "examples.filedisk:FileDisk"
BUSY = "tests.plugins.busy_disk:BusyFileDisk"
BUSY_OFF = "tests.plugins.busy_disk:OffReactorBusyFileDisk"
SCENARIOS = {
    # name: (workload, cpumask, queue depth, extra bdevperf args)
    "randread_1core_qd128": ("randread", "0x1", 128, []),
    "randwrite_1core_qd128": ("randwrite", "0x1", 128, []),
    "randread_1core_qd1": ("randread", "0x1", 1, []),
    "randwrite_1core_qd1": ("randwrite", "0x1", 1, []),
    "randread_2core_qd128": ("randread", "0x3", 128, ["-C"]),
    "randwrite_2core_qd128": ("randwrite", "0x3", 128, ["-C"]),
}
# Each Python disk and the SPDK bdev it is measured against.
PAIRS = {"python_ramdisk": "malloc", "python_filedisk": "aio", "python_filedisk_threads": "aio"}
NBDKIT_PLUGIN = '''
import nbdkit
API_VERSION = 2
size = %d
data = bytearray(size)
def thread_model():
    return nbdkit.THREAD_MODEL_PARALLEL
def open(readonly):
    return 1
def get_size(h):
    return size
def pread(h, buf, offset, flags):
    buf[:] = data[offset:offset + len(buf)]
def pwrite(h, buf, offset, flags):
    data[offset:offset + len(buf)] = buf
'''


def bdev_config(name, image):
    disk = {"name": "Disk0", "num_blocks": BLOCKS}
    entry = {
        "malloc": {"method": "bdev_malloc_create",
                   "params": {"name": "Disk0", "num_blocks": BLOCKS, "block_size": 512}},
        "python_ramdisk": {"method": "bdev_python_disk_create", "params": dict(disk, plugin=RAM)},
        "aio": {"method": "bdev_aio_create",
                "params": {"name": "Disk0", "filename": str(image), "block_size": 512}},
        "python_filedisk": {"method": "bdev_python_disk_create",
                            "params": dict(disk, plugin=FILE,
                                           params={"path": str(image), "direct": True,
                                                   "engine": "aio"})},
        "python_filedisk_threads": {"method": "bdev_python_disk_create",
                                    "params": dict(disk, plugin=FILE,
                                                   params={"path": str(image), "threads": 64,
                                                           "direct": True,
                                                           "engine": "threads"})},
    }[name]
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_set_options",
         "params": {"bdev_io_pool_size": 65535, "bdev_io_cache_size": 1024}}, entry]}]}


def run_bdevperf(install, env, config, scenario, seconds):
    workload, cpumask, qd, extra = SCENARIOS[scenario]
    rc, out = run_app(install, "bdevperf", config,
                      ["-q", qd, "-o", 4096, "-w", workload, "-t", seconds, *extra],
                      env=env, cpumask=cpumask, mem_mb=512, timeout=seconds * 4 + 60,
                      zcopy=False)
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf failed (rc %d):\n%s" % (rc, out[-3000:]))
    return result.total.iops


def _accepts(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(path))
        return True
    except OSError:
        return False


def run_nbdkit(workload, qd, seconds, workdir):
    """nbdkit's Python RAM disk on core 0, fio's nbd engine on core 1: IOPS."""
    plugin = workdir / "ramdisk_nbdkit.py"
    plugin.write_text(NBDKIT_PLUGIN % (BLOCKS * 512))
    sock = workdir / "nbd.sock"
    sock.unlink(missing_ok=True)
    server = subprocess.Popen(["taskset", "-c", "0", "nbdkit", "-f", "-U", str(sock), "python",
                               str(plugin)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not _accepts(sock):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("nbdkit did not start: %s" % server.stderr.read().decode())
            time.sleep(0.05)
        out = subprocess.run(["taskset", "-c", "1", "fio", "--name=bench", "--ioengine=nbd",
                              "--uri=nbd+unix:///?socket=%s" % sock, "--rw=" + workload,
                              "--bs=4k", "--iodepth=%d" % qd, "--time_based",
                              "--runtime=%d" % seconds, "--output-format=json"],
                             capture_output=True, text=True, check=True).stdout
        job = json.loads(out[out.index("{"):])["jobs"][0]  # after fio's "connected" line
        return job["read" if "read" in workload else "write"]["iops"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def longest_stall(install, env, workdir, seconds, plugin, params):
    """Under an NVMe/TCP host's load on a disk whose work is done by a busy
    pool of threads: the longest wait of a reactor to enter Python (for a
    disk off the reactor: to hand a batch to the Python thread) and of the
    Python thread for the GIL, in µs, and the host's IOPS."""
    target = SpdkProcess(install, "spdk_tgt", env=env, cpumask="0x1", mem_mb=512).start()
    try:
        target.rpc("bdev_python_disk_create", name="Busy0", plugin=plugin, num_blocks=BLOCKS,
                   params=dict(params, path=str(workdir / "busy.img")))
        port = nvmf.free_port()
        nqn = nvmf.export(target, "Busy0", port)
        rc, out = run_app(install, "bdevperf", nvmf.initiator_config(port, nqn),
                          ["-q", 64, "-o", 4096, "-w", "randrw", "-M", 50, "-t", seconds],
                          cpumask="0x2", mem_mb=512, timeout=seconds * 4 + 60)
        result = parse_bdevperf(out)
        if rc != 0 or result.failed:
            raise RuntimeError("the stall run's host failed:\n" + out[-3000:])
        stats = target.rpc("bdev_python_disk_get_stats", name="Busy0")
        return {"reactor_us": stats["max_stall_us"],
                "python_thread_us": stats["max_python_thread_wait_us"],
                "host_iops": result.total.iops}
    finally:
        target.stop()


# The pools a reactor's wait for the GIL is measured behind: the file disk's
# C threads (64, all busy with the host's I/O), and 8 Python workers making
# the same calls, I/O-bound or each spinning 1 ms in Python first (as an
# object-store client's parsing would), with the disk's hooks on the reactor
# and off it (Disk.off_reactor: on the Python thread).
STALLS = {
    "file_disk_linux_aio": (FILE, {"direct": True}),
    "file_disk_64_c_threads": (FILE, {"threads": 64}),
    "8_python_workers_io_bound_on_reactor": (BUSY, {"workers": 8, "spin_us": 0}),
    "8_python_workers_io_bound_off_reactor": (BUSY_OFF, {"workers": 8, "spin_us": 0}),
    "8_python_workers_spinning_1ms_on_reactor": (BUSY, {"workers": 8, "spin_us": 1000}),
    "8_python_workers_spinning_1ms_off_reactor": (BUSY_OFF, {"workers": 8, "spin_us": 1000}),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--no-nbdkit", action="store_true")
    args = parser.parse_args(argv)
    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True), base={})
    if not args.no_nbdkit:
        debian.ensure(("nbdkit", "nbdkit-plugin-python", "fio"), why="the nbdkit comparison")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench_disk-"))
    image = workdir / "disk.img"
    # Written through, not sparse: both file bdevs read real blocks (with
    # O_DIRECT, a hole costs the device nothing).
    image.write_bytes(os.urandom(BLOCKS * 512))
    scenarios = [s for s in args.scenarios.split(",") if s]
    iops = {}
    try:
        for run in range(args.runs):
            for scenario in scenarios:
                for name in ("malloc", "python_ramdisk", "aio", "python_filedisk",
                             "python_filedisk_threads"):
                    sample = run_bdevperf(install, env, bdev_config(name, image), scenario,
                                          args.seconds)
                    iops.setdefault(scenario, {}).setdefault(name, []).append(sample)
                    print("run %d %-22s %-16s %12.0f IOPS" % (run + 1, scenario, name, sample),
                          file=sys.stderr)
                workload, cpumask, qd, _ = SCENARIOS[scenario]
                if not args.no_nbdkit and cpumask == "0x1":
                    sample = run_nbdkit(workload, qd, args.seconds, workdir)
                    iops[scenario].setdefault("nbdkit_python", []).append(sample)
                    print("run %d %-22s %-16s %12.0f IOPS" % (run + 1, scenario, "nbdkit_python",
                                                            sample), file=sys.stderr)
        stall = {load: longest_stall(install, env, workdir, args.seconds, plugin, params)
                 for load, (plugin, params) in STALLS.items()}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = summarize(iops, stall, install, args)
    print_table(report)
    bench_passthru.save_report(report, "disk", draw=draw_chart)


def summarize(iops, stall, install, args):
    rows = {}
    for scenario, by_config in iops.items():
        for name, samples in by_config.items():
            row = {"iops_best": max(samples), "iops_runs": samples}
            if name in PAIRS:
                row["ratio_to_spdk"] = max(samples) / max(by_config[PAIRS[name]])
                row["compared_with"] = PAIRS[name]
            if name == "python_ramdisk" and "nbdkit_python" in by_config:
                row["ratio_to_nbdkit_python"] = max(samples) / max(by_config["nbdkit_python"])
            rows.setdefault(scenario, {})[name] = row
    return {"spdk": install.version_string, "seconds": args.seconds, "runs": args.runs,
            "workload": "4K, bdevperf -x; nbdkit: fio nbd engine, nbdkit on one core",
            "stalls": stall, "results": rows}


def print_table(report):
    print("\n%-22s %-16s %12s %10s %10s" % ("scenario", "config", "best IOPS", "x SPDK",
                                            "x nbdkit"))
    for scenario, rows in report["results"].items():
        for name, row in rows.items():
            print("%-22s %-16s %12.0f %10s %10s" % (
                scenario, name, row["iops_best"],
                "%.3f" % row["ratio_to_spdk"] if "ratio_to_spdk" in row else "-",
                "%.1f" % row["ratio_to_nbdkit_python"] if "ratio_to_nbdkit_python" in row
                else "-"))
    print("\n%-42s %14s %14s %10s" % ("disk's workers", "reactor wait", "Python thread",
                                       "host IOPS"))
    for load, stall in report["stalls"].items():
        print("%-42s %11.0f us %11.0f us %10.0f" % (load, stall["reactor_us"],
                                                    stall["python_thread_us"],
                                                    stall["host_iops"]))


def draw_chart(report, path):
    """Per scenario: each Python disk's IOPS over its SPDK counterpart's, and
    the RAM disk's over nbdkit's Python plugin (log scale)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    scenarios = list(report["results"])
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(scenarios)), 4))
    series = [("python_ramdisk", "ratio_to_spdk", "RAM disk / malloc"),
              ("python_filedisk", "ratio_to_spdk", "file disk (Linux AIO) / AIO"),
              ("python_filedisk_threads", "ratio_to_spdk", "file disk (C threads) / AIO"),
              ("python_ramdisk", "ratio_to_nbdkit_python", "RAM disk / nbdkit Python")]
    width = 0.8 / len(series)
    for k, (name, key, label) in enumerate(series):
        values = [report["results"][s].get(name, {}).get(key, 0) for s in scenarios]
        ax.bar([i + k * width for i in range(len(scenarios))], values, width, label=label)
    ax.set_yscale("log")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks([i + width for i in range(len(scenarios))])
    ax.set_xticklabels(scenarios, rotation=30, ha="right")
    ax.set_ylabel("IOPS ratio")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
