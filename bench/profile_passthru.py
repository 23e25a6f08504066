"""CPU share of the passthru's own code: hybrid mode against SPDK's C passthru.

    .venv/bin/python bench/profile_passthru.py [--seconds 4] [--runs 3] [--cpumask 0x1]

bdevperf throughput swings by 20 % between identical runs on shared VMs; a
cpu-clock profile of the same workload moves far less. Each configuration
runs bdevperf (4K randread -x on Null0, as bench_passthru.py) under
`perf record -e cpu-clock`; what is compared is the share of samples in the
vbdev module's own code: libspdk_bdev_passthru for the C passthru, the shim
for hybrid mode (with its counters, without, and the stats example's
histogram on top). The difference in share is
the CPU per I/O that hybrid mode adds, as a fraction of all the CPU an I/O
takes (about the IOPS it costs at this queue depth). Needs `perf` (Debian:
linux-perf). Prints a table, writes JSON under bench/results/.
"""

import argparse
import datetime
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_passthru import RESULTS, bdev_config  # noqa: E402
from spdk_py.tools import hugepages, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import parse_bdevperf, run_app  # noqa: E402

CONFIGS = {
    # name: (bdev config, the DSO holding the vbdev's own code)
    "c_passthru": (bdev_config("c_passthru"), "libspdk_bdev_passthru"),
    "hybrid": (bdev_config("python", "hybrid"), "libspdk_py_shim"),
    "hybrid_nostats": (bdev_config("python", "hybrid", stats=False), "libspdk_py_shim"),
    # The stats example: hybrid plus a latency histogram of every I/O, in C.
    "stats_example_hybrid": (bdev_config("histogram", "hybrid"), "libspdk_py_shim"),
}


def dso_shares(data):
    """{DSO name: percent of samples} from a perf.data file."""
    out = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "dso",
                          "--stdio", "-g", "none"], capture_output=True, text=True, check=True)
    shares = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("%"):
            shares[parts[1]] = float(parts[0][:-1])
    return shares


def profile_one(install, env, name, seconds, cpumask, qd, workdir):
    config, dso = CONFIGS[name]
    data = pathlib.Path(workdir) / ("%s.data" % name)
    args = ["-q", qd, "-o", 4096, "-w", "randread", "-t", seconds]
    if bin(int(cpumask, 16)).count("1") > 1:
        args.append("-C")  # every core submits, as bench_passthru's 2-core scenario
    rc, out = run_app(install, "bdevperf", config, args, env=env, cpumask=cpumask, mem_mb=512,
                      timeout=seconds * 4 + 60, zcopy=False,
                      wrap=["perf", "record", "-q", "-e", "cpu-clock", "-o", str(data), "--"])
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf failed (rc %d):\n%s" % (rc, out[-3000:]))
    share = sum(v for k, v in dso_shares(data).items() if k.startswith(dso))
    return share, result.total.iops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpumask", default="0x1")
    parser.add_argument("--qd", type=int, default=128, help="queue depth (1: latency)")
    args = parser.parse_args(argv)

    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True),
                      "spdk_py.passthru,examples.latency_histogram", base={})
    shares = {name: [] for name in CONFIGS}
    with tempfile.TemporaryDirectory() as workdir:
        for run in range(args.runs):
            for name in CONFIGS:
                share, iops = profile_one(install, env, name, args.seconds, args.cpumask,
                                          args.qd, workdir)
                shares[name].append(share)
                print("run %d %-16s %6.2f %% of samples  %12.0f IOPS" % (run + 1, name, share,
                                                                        iops), file=sys.stderr)
    base = statistics.median(shares["c_passthru"])
    rows = {name: {"share_pct_runs": s, "share_pct_median": statistics.median(s),
                   "extra_cpu_pct_vs_c_passthru": statistics.median(s) - base}
            for name, s in shares.items()}
    rows["hybrid"]["counters_cpu_pct"] = (rows["hybrid"]["share_pct_median"]
                                          - rows["hybrid_nostats"]["share_pct_median"])
    print("\n%-22s %12s %22s" % ("config", "own code %", "extra vs C passthru %"))
    for name, row in rows.items():
        print("%-22s %12.2f %22.2f" % (name, row["share_pct_median"],
                                       row["extra_cpu_pct_vs_c_passthru"]))
    rows["stats_example_hybrid"]["histogram_cpu_pct"] = (
        rows["stats_example_hybrid"]["share_pct_median"] - rows["hybrid"]["share_pct_median"])
    print("hybrid's counters: %.2f %% of the CPU; the stats example's histogram: %.2f %%"
          % (rows["hybrid"]["counters_cpu_pct"],
             rows["stats_example_hybrid"]["histogram_cpu_pct"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / ("profile-passthru-%s-qd%d-%s.json" % (args.cpumask, args.qd, stamp))
    path.write_text(json.dumps({"spdk": install.version_string, "cpumask": args.cpumask,
                                "qd": args.qd,
                                "seconds": args.seconds, "runs": args.runs,
                                "results": rows}, indent=2))
    print("wrote %s" % path)


if __name__ == "__main__":
    main()
