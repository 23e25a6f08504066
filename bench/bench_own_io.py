"""Python's own I/O against bdevperf: the I/O generator in Python
(examples/io_generator.py, run with spdk-py run --main) and SPDK's bdevperf,
on the same null bdev, 4K, on 1 core, in the same run.

    .venv/bin/python bench/bench_own_io.py [--seconds 3] [--runs 3]

Each scenario runs bdevperf, then the generator's two engines: "coroutines"
(one async def worker per unit of queue depth) and "bulk" (io_channel's bulk
I/O: Python runs once per completion batch). The goal: the Python I/O
generator at 0.3x bdevperf's IOPS or more at QD128. Prints a table, writes
JSON and a PNG chart under bench/results/; ratios are what to compare across
machines.
"""

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_passthru, ratios  # noqa: E402
from spdk_py.tools import hugepages, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import parse_bdevperf, run_app  # noqa: E402

NULL = {"subsystems": [{"subsystem": "bdev", "config": [
    {"method": "bdev_null_create",
     "params": {"name": "Null0", "num_blocks": 2097152, "block_size": 512}}]}]}
SCENARIOS = {"randread_qd128": ("randread", 128), "randwrite_qd128": ("randwrite", 128),
             "randread_qd1": ("randread", 1)}
ENGINES = ("coroutines", "bulk")
GOAL = 0.3
RESULT = "iogen result: "


def bdevperf(install, workload, qd, seconds):
    rc, out = run_app(install, "bdevperf", NULL,
                      ["-q", qd, "-o", 4096, "-w", workload, "-t", seconds],
                      cpumask="0x1", mem_mb=512, timeout=seconds * 4 + 60, zcopy=False)
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf failed (rc %d):\n%s" % (rc, out[-3000:]))
    return result.total.iops


def generator(install, env, engine, workload, qd, seconds):
    params = {"bdev": "Null0", "workload": workload, "queue_depth": qd, "io_size": 4096,
              "seconds": seconds, "engine": engine}
    rc, out = run_app(install, "spdk_tgt", NULL, [], cpumask="0x1", mem_mb=512,
                      timeout=seconds * 4 + 60,
                      env=dict(env, SPDK_PY_IOGEN=json.dumps(params)))
    return result(rc, out)["iops"]


def result(rc, out):
    """The generator's result line, as a dict; RuntimeError if it failed."""
    line = next((ln for ln in out.splitlines() if ln.startswith(RESULT)), None)
    if rc != 0 or line is None:
        raise RuntimeError("the generator failed (rc %d):\n%s" % (rc, out[-3000:]))
    return json.loads(line[len(RESULT):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args(argv)
    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True), base={},
                         main="examples.io_generator:main")
    iops = {}
    for run in range(args.runs):
        for scenario in [s for s in args.scenarios.split(",") if s]:
            workload, qd = SCENARIOS[scenario]
            samples = {"bdevperf": bdevperf(install, workload, qd, args.seconds)}
            for engine in ENGINES:
                samples["python_" + engine] = generator(install, env, engine, workload, qd,
                                                        args.seconds)
            for name, value in samples.items():
                iops.setdefault(scenario, {}).setdefault(name, []).append(value)
                print("run %d %-16s %-18s %12.0f IOPS" % (run + 1, scenario, name, value),
                      file=sys.stderr)
    report = summarize(iops, install, args)
    print_table(report)
    bench_passthru.save_report(report, "own_io", draw=draw_chart)


def summarize(iops, install, args):
    rows = {}
    for scenario, by_config in iops.items():
        base = max(by_config["bdevperf"])
        for name, samples in by_config.items():
            row = {"iops_best": max(samples), "iops_runs": samples,
                   "ratio_to_bdevperf": max(samples) / base}
            if name != "bdevperf" and scenario.endswith("qd128"):
                row["goal"] = GOAL
                row["goal_met"] = row["ratio_to_bdevperf"] >= GOAL
            rows.setdefault(scenario, {})[name] = row
    return {"spdk": install.version_string, "seconds": args.seconds, "runs": args.runs,
            "workload": "4K on a null bdev, 1 core; bdevperf against "
                        "examples/io_generator.py in spdk_tgt", "results": rows}


def print_table(report):
    ratios.print_table(report, "ratio_to_bdevperf", "x bdevperf")


def draw_chart(report, path):
    series = [("python_" + e, "Python I/O generator, %s / bdevperf" % e) for e in ENGINES]
    return ratios.draw_bars(report, path, series, "ratio_to_bdevperf", "IOPS ratio to bdevperf",
                            GOAL)


if __name__ == "__main__":
    main()
