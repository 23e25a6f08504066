"""asyncio on the reactors: what async hooks cost, and what an idle loop costs.

    .venv/bin/python bench/bench_asyncio.py [--seconds 3] [--runs 3]

1. bdevperf 4K randread and randwrite, QD128, 1 core, on the RAM disk
   (examples/ramdisk.py) with its sync hooks, with async def hooks that
   await nothing, and with async def hooks that yield to the loop once
   (asyncio.sleep(0): every I/O a task), against SPDK's malloc bdev. Rounds
   interleave the configurations in a new order each.
2. An idle reactor's poll rate: how often spdk_tgt's NVMe-oF TCP poll group
   poller (a C poller run every reactor iteration) runs per second, with the
   app thread's event loop holding 64 tasks asleep for an hour, or 4
   listening servers with a connection open to each (12 sockets watched),
   each against the same loop holding nothing, measured just before.

Prints a table, writes JSON and a PNG chart under bench/results/.
"""

import argparse
import statistics
import sys
import time
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_passthru  # noqa: E402
from spdk_py.tools import hugepages, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import SpdkProcess, parse_bdevperf, run_app  # noqa: E402

BLOCKS = 131072  # 64 MiB of 512-byte blocks
HOOKS = "tests.plugins.async_hooks"
DISKS = {
    "python_sync_hooks": "examples.ramdisk:RamDisk",
    "python_async_awaiting_nothing": HOOKS + ":AwaitNothingRamDisk",
    "python_async_yielding_once": HOOKS + ":YieldOnceRamDisk",
}
WORKLOADS = ("randread", "randwrite")
IDLE_STATES = {
    # name: the test_asyncio_idle RPC's params
    "64_timers": {"what": "timers", "count": 64},
    "4_servers_12_sockets": {"what": "sockets", "count": 4},
}
POLL_GROUP_POLLER = "nvmf_poll_group_poll"


def disk_config(name):
    if name == "malloc":
        entry = {"method": "bdev_malloc_create",
                 "params": {"name": "Disk0", "num_blocks": BLOCKS, "block_size": 512}}
    else:
        entry = {"method": "bdev_python_disk_create",
                 "params": {"name": "Disk0", "plugin": DISKS[name], "num_blocks": BLOCKS}}
    return {"subsystems": [{"subsystem": "bdev", "config": [entry]}]}


def run_bdevperf(install, env, name, workload, seconds):
    rc, out = run_app(install, "bdevperf", disk_config(name),
                      ["-q", 128, "-o", 4096, "-w", workload, "-t", seconds],
                      env=env, cpumask="0x1", mem_mb=512, timeout=seconds * 4 + 60, zcopy=False)
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf failed (rc %d):\n%s" % (rc, out[-3000:]))
    return result.total.iops


def poll_count(target):
    """The poll group poller's run count, on the app thread."""
    for thread in target.rpc("thread_get_pollers")["threads"]:
        for poller in thread["active_pollers"]:
            if poller["name"] == POLL_GROUP_POLLER:
                return poller["run_count"]
    raise RuntimeError("no %s poller: was the TCP transport made?" % POLL_GROUP_POLLER)


def poll_rate(target, seconds):
    before, start = poll_count(target), time.monotonic()
    time.sleep(seconds)
    return (poll_count(target) - before) / (time.monotonic() - start)


def idle_rates(install, env, seconds, runs):
    """Each idle state's poll rates, each with the nothing state's measured
    just before it: {state: [(nothing, state), ...]}."""
    target = SpdkProcess(install, "spdk_tgt", env=env, cpumask="0x1", mem_mb=512).start()
    try:
        target.rpc("nvmf_create_transport", trtype="TCP")
        pairs = {name: [] for name in IDLE_STATES}
        for _ in range(runs):
            for name, params in IDLE_STATES.items():
                nothing = poll_rate(target, seconds)
                target.rpc("test_asyncio_idle", **params)
                time.sleep(0.2)  # (servers up, connections accepted)
                pairs[name].append((nothing, poll_rate(target, seconds)))
                target.rpc("test_asyncio_idle_end")
        return pairs
    finally:
        target.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the run order (default: random, printed)")
    args = parser.parse_args(argv)
    order = bench_passthru.run_order(args)
    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True),
                         "tests.plugins.async_hooks,tests.plugins.asyncio_checks", base={})
    iops = {}
    for run in range(args.runs):
        for workload in WORKLOADS:
            names = ["malloc", *DISKS]
            order.shuffle(names)
            for name in names:
                sample = run_bdevperf(install, env, name, workload, args.seconds)
                iops.setdefault(workload, {}).setdefault(name, []).append(sample)
                print("run %d %-10s %-30s %10.0f IOPS" % (run + 1, workload, name, sample),
                      file=sys.stderr)
    rates = idle_rates(install, env, args.seconds, args.runs)
    report = summarize(iops, rates, install, args)
    print_table(report)
    bench_passthru.save_report(report, "asyncio", draw=draw_chart)


def summarize(iops, rates, install, args):
    hooks = {}
    for workload, by_config in iops.items():
        sync, malloc = max(by_config["python_sync_hooks"]), max(by_config["malloc"])
        hooks[workload] = {name: {"iops_best": max(samples), "iops_runs": samples,
                                  "ratio_to_sync_hooks": max(samples) / sync,
                                  "ratio_to_malloc": max(samples) / malloc}
                           for name, samples in by_config.items()}
    idle = {name: {"polls_per_s_idle_reactor": statistics.median(n for n, _ in pairs),
                   "polls_per_s": statistics.median(r for _, r in pairs),
                   "ratio_to_idle_reactor": statistics.median(r / n for n, r in pairs),
                   "runs": pairs}
            for name, pairs in rates.items()}
    return {"spdk": install.version_string, "python": sys.version.split()[0],
            "seconds": args.seconds, "runs": args.runs, "seed": args.seed,
            "workload": "bdevperf 4K QD128, 1 core, -x (no zcopy); idle: spdk_tgt -m 0x1 "
                        "with the NVMe-oF TCP transport, its poll group poller's run count",
            "hooks": hooks, "idle_loop": idle}


def print_table(report):
    print("\n%-10s %-30s %12s %10s %10s" % ("workload", "RAM disk hooks", "best IOPS",
                                            "x sync", "x malloc"))
    for workload, rows in report["hooks"].items():
        for name, row in rows.items():
            print("%-10s %-30s %12.0f %10.3f %10.3f" % (
                workload, name, row["iops_best"], row["ratio_to_sync_hooks"],
                row["ratio_to_malloc"]))
    print("\n%-24s %14s %14s %10s" % ("app thread's loop idle", "polls/s", "loop empty",
                                         "x empty"))
    for name, row in report["idle_loop"].items():
        print("%-24s %14.0f %14.0f %10.3f" % (name, row["polls_per_s"],
                                              row["polls_per_s_idle_reactor"],
                                              row["ratio_to_idle_reactor"]))


def draw_chart(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(DISKS)
    for i, workload in enumerate(report["hooks"]):
        rows = report["hooks"][workload]
        left.bar([x + i * 0.4 for x in range(len(names))],
                 [rows[n]["ratio_to_sync_hooks"] for n in names], 0.4, label=workload)
    left.set_xticks([x + 0.2 for x in range(len(names))])
    left.set_xticklabels([n.replace("python_", "").replace("_", "\n") for n in names])
    left.axhline(0.7, color="grey", linestyle="--", linewidth=1)
    left.set_ylabel("IOPS / sync hooks' (QD128, 1 core)")
    left.legend()
    idle = report["idle_loop"]
    right.bar(range(len(idle)), [row["ratio_to_idle_reactor"] for row in idle.values()])
    right.set_xticks(range(len(idle)))
    right.axhline(0.98, color="grey", linestyle="--", linewidth=1)
    right.set_ylim(0.8, 1.05)
    right.set_ylabel("reactor polls/s / idle reactor's")
    right.set_xticklabels([n.replace("_", "\n") for n in idle])
    fig.suptitle("asyncio on the reactors (SPDK %s, Python %s)"
                 % (report["spdk"], report["python"]))
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
