"""The S3 disks: boto3 in worker threads against aiobotocore in async hooks.

    .venv/bin/python bench/bench_s3.py [--seconds 3] [--runs 2] [--extent-size 4096]

examples/s3disk.py (boto3 calls in 8 Python workers, its hooks off the
reactor) and examples/aio_s3disk.py (aiobotocore, its hooks async on the
reactor, 8 requests in flight), each against the same moto S3 server on
loopback, started here, its objects written first so that every read finds
one (4096-byte extents by default: a 4K I/O is one GET or one PUT).
bdevperf 4K randread and randwrite, QD32, on 1 core (-m 0x1), directly on
the disk, waiting for perform_tests (-z) so that after each run the disk's
figures are read (bdev_python_disk_get_stats): IOPS, the ratio aio/boto3,
and max_stall_us, the longest a reactor waited to enter Python (for the
boto3 disk, off the reactor: to hand a batch to spdk_py's Python thread;
its Python thread's own wait for the GIL is max_python_thread_wait_us).
No figure says how long a reactor stays in Python once in (the aio disk
parses HTTP there): the stats have none. moto, a Python server on the same
2 cores, bounds both disks. Prints a table, writes JSON and a PNG chart
under bench/results/.
"""

import argparse
import concurrent.futures
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_passthru  # noqa: E402
from spdk_py.tools import hugepages, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import SpdkProcess, parse_bdevperf  # noqa: E402
from tests.s3_server import client as s3_client, moto_server  # noqa: E402

BLOCKS = 16384           # 8 MiB of 512-byte blocks
BUCKET = "disks"
PREFIX = "bench"         # both disks read and write the same objects
DISKS = {"boto3": "examples.s3disk:S3Disk", "aiobotocore": "examples.aio_s3disk:AioS3Disk"}
WORKLOADS = ("randread", "randwrite")
QD = 32


def fill(endpoint, extent):
    """Every extent of the disk as an object (in the disks' key format)."""
    s3 = s3_client(endpoint)
    body = bytes(range(256)) * (extent // 256)

    def put(index):
        s3.put_object(Bucket=BUCKET, Key="%s/%012d" % (PREFIX, index), Body=body)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(BLOCKS * 512 // extent)))


def disk_config(plugin, endpoint, extent):
    params = {"endpoint": endpoint, "bucket": BUCKET, "prefix": PREFIX, "extent_size": extent,
              "workers": 8}
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_python_disk_create",
         "params": {"name": "S3Disk0", "plugin": plugin, "num_blocks": BLOCKS,
                    "params": params}}]}]}


def run_bdevperf(install, env, config, workload, seconds):
    """One bdevperf run on the disk (1 core, QD32): its IOPS and the disk's figures after it."""
    perf = SpdkProcess(install, "bdevperf", env=env, config=config, cpumask="0x1", mem_mb=512,
                       zcopy=False, args=["-z", "-q", QD, "-o", 4096, "-w", workload,
                                          "-t", seconds]).start()
    try:
        perf.rpc_raw("perform_tests", timeout=seconds * 4 + 60)
        stats = perf.rpc("bdev_python_disk_get_stats", name="S3Disk0")
        info = perf.rpc("bdev_get_bdevs", name="S3Disk0")[0]["driver_specific"]["python_disk"]
        result = parse_bdevperf(perf.log_text())
        if result.failed or result.total is None:
            raise RuntimeError("bdevperf failed:\n%s" % perf.log_text()[-3000:])
        return {"iops": result.total.iops, "max_stall_us": stats["max_stall_us"],
                "off_reactor": info["off_reactor"],
                "max_python_thread_wait_us": stats["max_python_thread_wait_us"],
                "timed_out": stats["timed_out"]}
    finally:
        perf.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--extent-size", type=int, default=4096)
    args = parser.parse_args(argv)
    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True), base={})
    samples = {}
    with tempfile.TemporaryDirectory(prefix="bench_s3-") as tmp, \
            moto_server(pathlib.Path(tmp), BUCKET) as (endpoint, _):
        fill(endpoint, args.extent_size)
        for run in range(args.runs):
            for workload in WORKLOADS:
                # Alternate which disk goes first: the machine drifts.
                names = list(DISKS) if run % 2 == 0 else list(reversed(DISKS))
                for name in names:
                    sample = run_bdevperf(install, env,
                                          disk_config(DISKS[name], endpoint, args.extent_size),
                                          workload, args.seconds)
                    samples.setdefault(workload, {}).setdefault(name, []).append(sample)
                    print("run %d %-10s %-12s %8.0f IOPS  stall %8.1f us" % (
                        run + 1, workload, name, sample["iops"], sample["max_stall_us"]),
                        file=sys.stderr)
    report = summarize(samples, install, args)
    print_table(report)
    bench_passthru.save_report(report, "s3", draw=draw_chart)


def summarize(samples, install, args):
    rows = {}
    for workload, by_disk in samples.items():
        best = {name: max(s["iops"] for s in runs) for name, runs in by_disk.items()}
        for name, runs in by_disk.items():
            rows.setdefault(workload, {})[name] = {
                "iops_best": best[name], "iops_runs": [s["iops"] for s in runs],
                "ratio_to_boto3": best[name] / best["boto3"],
                # The worst of the runs: a stall once is a stall.
                "max_stall_us": max(s["max_stall_us"] for s in runs),
                "off_reactor": runs[0]["off_reactor"],
                "max_python_thread_wait_us": max(s["max_python_thread_wait_us"] for s in runs),
                "timed_out": sum(s["timed_out"] for s in runs)}
    return {"spdk": install.version_string, "python": sys.version.split()[0],
            "seconds": args.seconds, "runs": args.runs, "extent_size": args.extent_size,
            "workload": "bdevperf 4K QD%d, 1 core, -x (no zcopy), on the disk; moto S3 "
                        "server on loopback; 8 workers / 8 requests in flight" % QD,
            "results": rows}


def print_table(report):
    print("\n%-10s %-12s %10s %10s %14s %14s" % ("workload", "S3 disk", "best IOPS",
                                                 "x boto3", "reactor stall", "Python thread"))
    for workload, rows in report["results"].items():
        for name, row in rows.items():
            # A disk on the reactor has no batch for the Python thread to wait on.
            python_thread = ("%11.1f us" % row["max_python_thread_wait_us"]
                             if row["off_reactor"] else "-")
            print("%-10s %-12s %10.0f %10.3f %11.1f us %14s" % (
                workload, name, row["iops_best"], row["ratio_to_boto3"], row["max_stall_us"],
                python_thread))


def draw_chart(report, path):
    """IOPS of each disk per workload; the longest reactor stall of each (log scale)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    workloads = list(report["results"])
    for i, name in enumerate(DISKS):
        rows = [report["results"][w][name] for w in workloads]
        xs = [x + i * 0.4 for x in range(len(workloads))]
        left.bar(xs, [r["iops_best"] for r in rows], 0.4, label=name)
        right.bar(xs, [max(r["max_stall_us"], 0.1) for r in rows], 0.4, label=name)
    for ax in (left, right):
        ax.set_xticks([x + 0.2 for x in range(len(workloads))])
        ax.set_xticklabels(workloads)
        ax.legend()
    left.set_ylabel("IOPS (4K, QD%d, 1 core)" % QD)
    right.set_yscale("log")
    right.axhline(100, color="grey", linestyle="--", linewidth=1)
    right.set_ylabel("longest reactor wait to enter Python (us)")
    fig.suptitle("S3 disks on moto (SPDK %s, Python %s, %d-byte extents)"
                 % (report["spdk"], report["python"], report["extent_size"]))
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
