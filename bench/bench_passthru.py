"""Passthru benchmark: the Python vbdev against SPDK's own C passthru and the raw base.

    .venv/bin/python bench/bench_passthru.py [--seconds 5] [--runs 4] [--control] [--modes python,...]

bdevperf, 4K random reads, QD128, no zero-copy, on a null bdev: the raw
Null0, SPDK's C passthru (bdev_passthru_create) over it, and the Python
passthru in each mode over it. Every configuration runs in the same invocation
with the shim loaded (so only the vbdev differs), on 1 core and on 2 (-m 0x3 -C,
bdev_io_cache_size raised for all alike), plus QD1 latency on 1 core. Ratios
to the C passthru are what to compare across machines. Prints a table, writes
JSON (and a PNG chart when matplotlib is installed) under bench/results/.
"""

import argparse
import datetime
import json
import pathlib
import random
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spdk_py.tools import hugepages, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import parse_bdevperf, run_app  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BASELINE = "c_passthru"


def bdev_config(kind, mode=None, stats=True, cache_size=1024):
    config = [
        {"method": "bdev_set_options",
         "params": {"bdev_io_pool_size": 65535, "bdev_io_cache_size": cache_size}},
        {"method": "bdev_null_create",
         "params": {"name": "Null0", "num_blocks": 2097152, "block_size": 512}},
    ]
    if kind == "c_passthru":
        config.append({"method": "bdev_passthru_create",
                       "params": {"base_bdev_name": "Null0", "name": "PT0"}})
    elif kind == "python_completion":
        # A passthru whose completion hook counts statuses: Python on both paths.
        config.append({"method": "bdev_counting_create",
                       "params": {"base_bdev_name": "Null0", "name": "PT0", "mode": mode}})
    elif kind == "histogram":
        # The stats example: C keeps a latency histogram of every I/O.
        config.append({"method": "bdev_latency_histogram_create",
                       "params": {"base_bdev_name": "Null0", "name": "PT0", "mode": mode}})
    elif kind == "python":
        config.append({"method": "bdev_python_passthru_create",
                       "params": {"base_bdev_name": "Null0", "name": "PT0", "mode": mode,
                                  "stats": stats}})
    return {"subsystems": [{"subsystem": "bdev", "config": config}]}


def configurations(modes, control=False):
    yield "raw_null", bdev_config("raw")
    yield "c_passthru", bdev_config("c_passthru")
    if control:
        # The C passthru again: its ratio to the first is the noise floor.
        yield "c_passthru_control", bdev_config("c_passthru")
    for mode in modes:
        if mode == "python_completion":
            yield mode, bdev_config(mode, "python")
            continue
        if mode == "stats_example_hybrid":
            yield mode, bdev_config("histogram", "hybrid")
            continue
        # "<mode>_nostats": the same with the per-I/O-type counters off, to price them.
        base_mode, _, nostats = mode.partition("_")
        yield "python_" + mode, bdev_config("python", base_mode, stats=not nostats)


SCENARIOS = {
    # name: (cpumask, queue depth, extra bdevperf args)
    "1core_qd128": ("0x1", 128, []),
    "2core_qd128": ("0x3", 128, ["-C"]),
    "1core_qd1": ("0x1", 1, []),
}


def run_one(install, env, config, scenario, seconds):
    cpumask, qd, extra = SCENARIOS[scenario]
    args = ["-q", qd, "-o", 4096, "-w", "randread", "-t", seconds, *extra]
    rc, out = run_app(install, "bdevperf", config, args, env=env, cpumask=cpumask,
                      mem_mb=512, timeout=seconds * 4 + 60, zcopy=False)
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf failed (rc %d):\n%s" % (rc, out[-3000:]))
    return result.total.iops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--modes", default="python,python_completion,hybrid,hybrid_nostats,"
                        "stats_example_hybrid",
                        help="Python passthru modes to run (<mode>_nostats: counters off; "
                             "python_completion: python mode with a completion hook; "
                             "stats_example_hybrid: examples/latency_histogram.py in hybrid)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--control", action="store_true",
                        help="run the C passthru twice a round, to show the noise floor")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the run order (default: random, printed)")
    args = parser.parse_args(argv)
    order = run_order(args)

    install = provision.locate()
    hugepages.ensure()
    # tests.plugins.faulty has the passthru with both hooks (bdev_counting_create).
    env = launch.app_env(install, shim.build(install, quiet=True),
                      "spdk_py.passthru,tests.plugins.faulty,examples.latency_histogram", base={})
    modes = [m for m in args.modes.split(",") if m]
    scenarios = [s for s in args.scenarios.split(",") if s]

    # Rounds interleave the configurations, in a new order each round, so that
    # the machine's drift (these are shared VMs) falls on all of them alike.
    iops = {}
    for run in range(args.runs):
        for scenario in scenarios:
            round_configs = list(configurations(modes, args.control))
            order.shuffle(round_configs)
            for name, config in round_configs:
                sample = run_one(install, env, config, scenario, args.seconds)
                iops.setdefault(scenario, {}).setdefault(name, []).append(sample)
                print("run %d %-12s %-22s %12.0f IOPS" % (run + 1, scenario, name, sample),
                      file=sys.stderr)

    canonical = [name for name, _ in configurations(modes, args.control)]
    iops = {scenario: {name: by_config[name] for name in canonical}
            for scenario, by_config in iops.items()}
    report = summarize(iops, install, args)
    print_table(report)
    save_report(report, "passthru")


def run_order(args):
    """The rounds' shuffler, from args.seed (drawn and set if None, and printed:
    a run's order can be replayed)."""
    if args.seed is None:
        args.seed = random.randrange(1 << 32)
    print("run order seed %d" % args.seed, file=sys.stderr)
    return random.Random(args.seed)


def save_report(report, prefix, draw=None):
    """JSON and (with matplotlib) a PNG chart (draw, default draw_chart),
    under bench/results/, stamped."""
    # Which Python, and whether it has a GIL: with one, reactors take turns in it.
    report.setdefault("python", launch.python_build())
    print("\nPython %s" % report["python"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / ("%s-%s.json" % (prefix, stamp))
    path.write_text(json.dumps(report, indent=2))
    print("\nwrote %s" % path)
    chart = (draw or draw_chart)(report, RESULTS / ("%s-%s.png" % (prefix, stamp)))
    if chart:
        print("wrote %s" % chart)


def summarize(iops, install, args):
    """Two ratios to the C passthru: of the best runs (noise on a shared machine
    only ever takes throughput away), and the median of each round's own
    ratio (a configuration and the C passthru run seconds apart, so they see
    the same machine; this one moves least between invocations)."""
    rows = {}
    for scenario, by_config in iops.items():
        base = max(by_config[BASELINE])
        for name, samples in by_config.items():
            best = max(samples)
            paired = [s / b for s, b in zip(samples, by_config[BASELINE])]
            row = {"iops_best": best, "iops_median": statistics.median(samples),
                   "iops_runs": samples, "ratio_to_c_passthru": best / base,
                   "ratio_paired_median": statistics.median(paired)}
            if name == "stats_example_hybrid" and "python_hybrid" in by_config:
                # The stats example's cost: against the plain hybrid passthru.
                row["ratio_to_plain_hybrid"] = best / max(by_config["python_hybrid"])
                row["ratio_to_plain_hybrid_paired_median"] = statistics.median(
                    s / h for s, h in zip(samples, by_config["python_hybrid"]))
            if SCENARIOS[scenario][1] == 1:
                # One job at QD1: mean latency is the inverse of its IOPS.
                row["avg_latency_us"] = 1e6 / best
                row["latency_ratio_to_c_passthru"] = base / best
            rows.setdefault(scenario, {})[name] = row
    return {"spdk": install.version_string, "seconds": args.seconds, "runs": args.runs,
            "run_order_seed": args.seed,
            "workload": "randread 4K -x, Null0 2097152 x 512 B", "results": rows}


def print_table(report):
    print("\n%-12s %-22s %12s %12s %9s %9s %10s"
          % ("scenario", "config", "best IOPS", "median", "x C best", "x C pair", "lat us"))
    for scenario, rows in report["results"].items():
        for name, row in rows.items():
            lat = row.get("avg_latency_us")
            print("%-12s %-22s %12.0f %12.0f %9.3f %9.3f %10s" % (
                scenario, name, row["iops_best"], row["iops_median"],
                row["ratio_to_c_passthru"], row["ratio_paired_median"],
                "%.3f" % lat if lat else "-"))


def draw_chart(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    scenarios = list(report["results"])
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5 * len(scenarios), 4))
    for ax, scenario in zip(axes if len(scenarios) > 1 else [axes], scenarios):
        rows = report["results"][scenario]
        ax.bar(list(rows), [r["ratio_to_c_passthru"] for r in rows.values()])
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_title(scenario)
        ax.set_ylabel("IOPS / SPDK C passthru")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
