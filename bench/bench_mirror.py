"""The Python mirror (examples/mirror.py) against SPDK's own raid1, in the
same run.

    .venv/bin/python bench/bench_mirror.py [--seconds 3] [--runs 3]

bdevperf 4K randread and randwrite at QD128 on 1 core over two malloc bdevs:
SPDK's raid1 (`bdev_raid_create -r raid1`, SPDK 23.05 and later) and the
Python mirror; on a release without raid1 (20.07), the raw malloc bdev
stands in for it (it does half a mirrored write's work: no goal is judged
against it). Goal: the mirror at 0.3x raid1 or more. Prints a table,
writes JSON and a PNG chart under bench/results/.
"""

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_passthru, ratios  # noqa: E402
from spdk_py.tools import hugepages, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import parse_bdevperf, run_app  # noqa: E402

BLOCKS = 131072  # 64 MiB of 512-byte blocks, each base
SCENARIOS = {"randread_qd128": "randread", "randwrite_qd128": "randwrite"}
GOAL = 0.3
PLUGINS = "spdk_py.passthru,examples.mirror"


def bases():
    return [{"method": "bdev_malloc_create",
             "params": {"name": name, "num_blocks": BLOCKS, "block_size": 512}}
            for name in ("Malloc0", "Malloc1")]


def config(name):
    """(bdev config, the bdev bdevperf drives) of one configuration."""
    extra = {
        "malloc": ([], "Malloc0"),
        "spdk_raid1": ([{"method": "bdev_raid_create", "params": {
            "name": "Raid1", "raid_level": "raid1", "base_bdevs": ["Malloc0", "Malloc1"]}}],
            "Raid1"),
        "python_mirror": ([{"method": "bdev_pymirror_create", "params": {
            "name": "Mirror0", "base_bdevs": ["Malloc0", "Malloc1"]}}], "Mirror0"),
    }[name]
    return {"subsystems": [{"subsystem": "bdev", "config": bases() + extra[0]}]}, extra[1]


def bdevperf(install, env, name, workload, seconds):
    cfg, target = config(name)
    rc, out = run_app(install, "bdevperf", cfg,
                      ["-q", 128, "-o", 4096, "-w", workload, "-t", seconds, "-T", target],
                      env=env, cpumask="0x1", mem_mb=1024, timeout=seconds * 4 + 60,
                      zcopy=False)
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf on %s failed (rc %d):\n%s" % (name, rc, out[-3000:]))
    return result.total.iops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True), PLUGINS, base={})
    baseline = "spdk_raid1" if install.at_least(23, 5) else "malloc"
    names = ["malloc", "python_mirror"] + (["spdk_raid1"] if baseline == "spdk_raid1" else [])
    iops = {}
    for run in range(args.runs):
        for scenario, workload in SCENARIOS.items():
            for name in names:
                value = bdevperf(install, env, name, workload, args.seconds)
                iops.setdefault(scenario, {}).setdefault(name, []).append(value)
                print("run %d %-16s %-14s %12.0f IOPS" % (run + 1, scenario, name, value),
                      file=sys.stderr)
    report = summarize(iops, baseline, install, args)
    print_table(report)
    bench_passthru.save_report(report, "mirror", draw=draw_chart)


def summarize(iops, baseline, install, args):
    rows = {}
    for scenario, by_config in iops.items():
        base = max(by_config[baseline])
        for name, samples in by_config.items():
            row = {"iops_best": max(samples), "iops_runs": samples,
                   "ratio_to_baseline": max(samples) / base}
            if name == "python_mirror" and baseline == "spdk_raid1":  # the goal's baseline
                row["goal"] = GOAL
                row["goal_met"] = row["ratio_to_baseline"] >= GOAL
            rows.setdefault(scenario, {})[name] = row
    return {"spdk": install.version_string, "seconds": args.seconds, "runs": args.runs,
            "baseline": baseline,
            "workload": "bdevperf 4K QD128, 1 core, over two 64 MiB malloc bdevs",
            "results": rows}


def print_table(report):
    print("\nbaseline: %s" % report["baseline"])
    ratios.print_table(report, "ratio_to_baseline", "x baseline")


def draw_chart(report, path):
    names = list(next(iter(report["results"].values())))
    return ratios.draw_bars(report, path, [(name, name) for name in names], "ratio_to_baseline",
                            "IOPS ratio to %s" % report["baseline"], GOAL)


if __name__ == "__main__":
    main()
