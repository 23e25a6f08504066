"""Python on 1 reactor and on 2: how far it scales, per interpreter.

    .venv/bin/python bench/bench_reactors.py [--pythons .venv/bin/python,.venv-3.14t/bin/python]
                                             [--seconds 3] [--runs 3] [--executor-lock auto]

bdevperf 4K at QD128 per job (-C on 2 reactors: each reactor submits to the
bdev), in one invocation, configurations interleaved in a new order each
round:

- the Python passthru in python mode over a null bdev (randread), and SPDK's
  C passthru;
- the Python RAM disk (examples.ramdisk) against SPDK's malloc bdev, randread
  and randwrite;
- the Python file disk (examples.filedisk, Linux AIO engine, O_DIRECT)
  against SPDK's AIO bdev on the same file, randread;
- the Python mirror (examples.mirror, routed in C) over two malloc bdevs
  against one malloc bdev, randread and randwrite; and randwrite while it
  resyncs a third base (at 8 MB/s: it lasts the run), when writes take
  Python's path (its hooks and range lock);
- Python's own I/O: the I/O generator's bulk engine (examples.io_generator,
  a job on an SPDK thread of its own per reactor, QD128 each) against
  bdevperf, both driving a null bdev, randread;

on 1 reactor and on 2, for each interpreter named (each with its own venv
and shim: PYTHON=... ci/setup.sh makes them). Ratios: 2 reactors to 1 (how
Python scales), Python to the C module on as many reactors (per core), and a
later interpreter's 1-reactor figure to the first's. With a GIL, reactors
take turns in Python; free-threaded (3.14t), they run it together. Prints a
table, writes JSON and a PNG chart under bench/results/.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_disk, bench_mirror, bench_own_io, bench_passthru  # noqa: E402
from spdk_py.tools import hugepages, launch, provision  # noqa: E402
from spdk_py.tools.process import parse_bdevperf, run_app  # noqa: E402

PLUGINS = "spdk_py.passthru,examples.mirror"
GOAL_SCALING = 1.8        # 2 reactors / 1, free-threaded
GOAL_RAM_PER_CORE = 0.4   # the RAM disk / malloc, on 2 reactors
GOAL_WORKLOADS = ("passthru_randread", "ramdisk_randread", "ramdisk_randwrite")
# workload: (bdevperf -w, [(config name, config, the C module it is compared with)])
WORKLOADS = {
    "passthru_randread": ("randread", [
        ("c_passthru", lambda: bench_passthru.bdev_config("c_passthru"), None),
        ("python_passthru", lambda: bench_passthru.bdev_config("python", "python"),
         "c_passthru")]),
    "ramdisk_randread": ("randread", [
        ("malloc", lambda: bench_disk.bdev_config("malloc", None), None),
        ("python_ramdisk", lambda: bench_disk.bdev_config("python_ramdisk", None), "malloc")]),
    "ramdisk_randwrite": ("randwrite", [
        ("malloc", lambda: bench_disk.bdev_config("malloc", None), None),
        ("python_ramdisk", lambda: bench_disk.bdev_config("python_ramdisk", None), "malloc")]),
    "filedisk_randread": ("randread", [
        ("aio", lambda: bench_disk.bdev_config("aio", IMAGE), None),
        ("python_filedisk", lambda: bench_disk.bdev_config("python_filedisk", IMAGE), "aio")]),
    "mirror_randread": ("randread", [
        ("malloc", lambda: bench_mirror.config("malloc"), None),
        ("python_mirror", lambda: bench_mirror.config("python_mirror"), "malloc")]),
    "mirror_randwrite": ("randwrite", [
        ("malloc", lambda: bench_mirror.config("malloc"), None),
        ("python_mirror", lambda: bench_mirror.config("python_mirror"), "malloc")]),
    "mirror_resyncing_randwrite": ("randwrite", [
        ("malloc", lambda: bench_mirror.config("malloc"), None),
        ("python_mirror", lambda: resyncing_mirror(), "malloc")]),
    "own_io_bulk_randread": ("randread", [
        ("bdevperf", lambda: bench_own_io.NULL, None),
        ("python_bulk_engine", lambda: IoGen(bench_own_io.NULL, "Null0"), "bdevperf")]),
}
def resyncing_mirror():
    """The mirror over two bases, a third resyncing at 8 MB/s (64 MiB: the
    whole run), and the bdev bdevperf drives."""
    config, target = bench_mirror.config("python_mirror")
    entries = config["subsystems"][0]["config"]
    entries.insert(0, {"method": "bdev_malloc_create", "params": {
        "name": "Malloc2", "num_blocks": bench_mirror.BLOCKS, "block_size": 512}})
    entries.append({"method": "bdev_pymirror_add_base", "params": {
        "name": target, "base_bdev_name": "Malloc2", "resync_max_bandwidth_mb_sec": 8}})
    return config, target


# The file both file bdevs read, written through (O_DIRECT reads real blocks).
IMAGE = pathlib.Path(tempfile.gettempdir()) / "bench_reactors-disk.img"
REACTORS = {1: ("0x1", []), 2: ("0x3", ["-C"])}

# What an interpreter tells about itself, and the environment its SPDK app needs.
PROBE = """
import json, sys, sysconfig
from spdk_py.tools import launch, provision, shim
install = provision.locate()
env = launch.app_env(install, shim.build(install, quiet=True), %r, base={})
print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable,
                  "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
                  "env": env}))
"""


def probe(python, executor_lock):
    out = subprocess.run([python, "-c", PROBE % PLUGINS], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    info = json.loads(out)
    info["label"] = "%s%s" % (info["python"], "t" if info["free_threaded"] else "")
    if executor_lock != "auto":
        info["env"]["SPDK_PY_EXECUTOR_LOCK"] = executor_lock
    return info


class IoGen:
    """The I/O generator's bulk engine drives the bdev instead of bdevperf: a
    job on each reactor's core."""

    def __init__(self, config, bdev):
        self.config, self.bdev = config, bdev


def run_iogen(install, env, iogen, workload, reactors, seconds):
    cpumask, _ = REACTORS[reactors]
    params = {"bdev": iogen.bdev, "workload": workload, "queue_depth": 128, "io_size": 4096,
              "seconds": seconds, "engine": "bulk", "cores": list(range(reactors))}
    rc, out = run_app(install, "spdk_tgt", iogen.config, [], cpumask=cpumask, mem_mb=1024,
                      timeout=seconds * 4 + 60,
                      env=dict(env, SPDK_PY_IOGEN=json.dumps(params),
                               **{launch.MAIN_ENV: "examples.io_generator:main"}))
    started = next((ln for ln in out.splitlines() if "spdk_py: Python" in ln), "")
    return bench_own_io.result(rc, out)["iops"], started.partition("spdk_py: ")[2]


def run_one(install, env, config, workload, reactors, seconds):
    """One bdevperf run; config is a bdev config, or (config, the bdev to
    drive), or an IoGen (the generator drives, not bdevperf)."""
    if isinstance(config, IoGen):
        return run_iogen(install, env, config, workload, reactors, seconds)
    cpumask, extra = REACTORS[reactors]
    config, target = config if isinstance(config, tuple) else (config, None)
    rc, out = run_app(install, "bdevperf", config,
                      ["-q", 128, "-o", 4096, "-w", workload, "-t", seconds, *extra,
                       *(["-T", target] if target else [])],
                      env=env, cpumask=cpumask, mem_mb=1024, timeout=seconds * 4 + 60,
                      zcopy=False)
    result = parse_bdevperf(out)
    if rc != 0 or result.failed or result.total is None:
        raise RuntimeError("bdevperf failed (rc %d):\n%s" % (rc, out[-3000:]))
    started = next((line for line in out.splitlines() if "spdk_py: Python" in line), "")
    return result.total.iops, started.partition("spdk_py: ")[2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythons", default=sys.executable,
                        help="comma-separated interpreters (each a venv's python with "
                             "spdk_py installed)")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--executor-lock", default="auto", choices=("auto", "on", "off"),
                        help="SPDK_PY_EXECUTOR_LOCK for every run")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    order = bench_passthru.run_order(args)
    install = provision.locate()
    hugepages.ensure()
    pythons = [probe(p, args.executor_lock) for p in args.pythons.split(",") if p]
    workloads = [w for w in args.workloads.split(",") if w]
    if any(w.startswith("filedisk") for w in workloads):
        IMAGE.write_bytes(os.urandom(bench_disk.BLOCKS * 512))
    try:
        iops, started = run_cells(install, pythons, workloads, order, args)
    finally:
        IMAGE.unlink(missing_ok=True)
    report = summarize(iops, pythons, workloads, started, install, args)
    print_table(report)
    bench_passthru.save_report(report, "reactors", draw=draw_chart)


def run_cells(install, pythons, workloads, order, args):
    """Every (workload, interpreter, config, reactors) cell, args.runs times,
    in a new order each round: {cell: IOPS samples}, {interpreter: its start line}."""

    # (workload, python label, config, reactors) -> IOPS samples
    iops, started = {}, {}
    for run in range(args.runs):
        cells = [(w, py, name, config, reactors) for w in workloads for py in pythons
                 for name, config, _ in WORKLOADS[w][1] for reactors in REACTORS
                 if not (py is not pythons[0] and WORKLOADS[w][1][0][0] == name)]
        order.shuffle(cells)
        for workload, py, name, config, reactors in cells:
            # (The C modules run once, with the first interpreter's shim: no Python in them.)
            sample, line = run_one(install, py["env"], config(), WORKLOADS[workload][0],
                                   reactors, args.seconds)
            key = (workload, py["label"], name, reactors)
            iops.setdefault(key, []).append(sample)
            started[py["label"]] = started.get(py["label"]) or line
            print("run %d %-18s %-7s %-16s %d reactor(s) %12.0f IOPS"
                  % (run + 1, workload, py["label"], name, reactors, sample), file=sys.stderr)
    return iops, started


def summarize(iops, pythons, workloads, started, install, args):
    first = pythons[0]["label"]
    rows = {}
    for workload in workloads:
        configs = WORKLOADS[workload][1]
        baseline_name = configs[0][0]
        for py in pythons:
            for name, _, compared_with in configs:
                label = first if name == baseline_name else py["label"]
                if name == baseline_name and py is not pythons[0]:
                    continue
                best = {r: max(iops[(workload, label, name, r)]) for r in REACTORS}
                row = {"python": label, "config": name,
                       "iops_best": {str(r): best[r] for r in REACTORS},
                       "iops_median": {str(r): statistics.median(iops[(workload, label, name, r)])
                                       for r in REACTORS},
                       "scaling_2_to_1": best[2] / best[1]}
                if compared_with:
                    base = {r: max(iops[(workload, first, compared_with, r)]) for r in REACTORS}
                    row["ratio_to_c"] = {str(r): best[r] / base[r] for r in REACTORS}
                    row["compared_with"] = compared_with
                    if label != first:
                        row["ratio_1_reactor_to_%s" % first] = \
                            best[1] / max(iops[(workload, first, name, 1)])
                    if pythons_free(pythons, label) and workload in GOAL_WORKLOADS:
                        row["goal_scaling"] = GOAL_SCALING
                        row["goal_scaling_met"] = row["scaling_2_to_1"] >= GOAL_SCALING
                    if name == "python_ramdisk":
                        row["goal_per_core"] = GOAL_RAM_PER_CORE
                        row["goal_per_core_met"] = row["ratio_to_c"]["2"] >= GOAL_RAM_PER_CORE
                rows.setdefault(workload, []).append(row)
    return {"spdk": install.version_string, "python": ", ".join(py["label"] for py in pythons),
            "seconds": args.seconds, "runs": args.runs,
            "run_order_seed": args.seed, "executor_lock": args.executor_lock,
            "pythons": {py["label"]: {"executable": py["executable"],
                                      "started": started.get(py["label"], "")}
                        for py in pythons},
            "workload": "bdevperf 4K QD128 per job, -C on 2 reactors, zcopy off",
            "results": rows}


def pythons_free(pythons, label):
    return any(py["label"] == label and py["free_threaded"] for py in pythons)


def print_table(report):
    for label, py in report["pythons"].items():
        print("%s: %s" % (label, py["started"]))
    print("\n%-18s %-7s %-16s %11s %11s %7s %8s %8s %s"
          % ("workload", "python", "config", "1r IOPS", "2r IOPS", "2r/1r", "xC 1r", "xC 2r",
             "goals"))
    for workload, rows in report["results"].items():
        for row in rows:
            ratio = row.get("ratio_to_c", {})
            goals = []
            if "goal_scaling_met" in row:
                goals.append("scaling %s" % ("met" if row["goal_scaling_met"] else "NOT"))
            if "goal_per_core_met" in row:
                goals.append("per core %s" % ("met" if row["goal_per_core_met"] else "NOT"))
            print("%-18s %-7s %-16s %11.0f %11.0f %7.2f %8s %8s %s" % (
                workload, row["python"], row["config"], row["iops_best"]["1"],
                row["iops_best"]["2"], row["scaling_2_to_1"],
                "%.3f" % ratio["1"] if ratio else "-", "%.3f" % ratio["2"] if ratio else "-",
                ", ".join(goals)))
            cross = [k for k in row if k.startswith("ratio_1_reactor_to_")]
            for k in cross:
                print("%-18s %-7s %-16s 1 reactor, to %s: %.3f"
                      % ("", row["python"], row["config"], k.rpartition("_")[2], row[k]))


def draw_chart(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(9, 4))
    labels, values = [], []
    for workload, rows in report["results"].items():
        for row in rows:
            labels.append("%s\n%s %s" % (workload, row["config"], row["python"]))
            values.append(row["scaling_2_to_1"])
    ax.bar(range(len(values)), values)
    ax.axhline(GOAL_SCALING, color="red", linewidth=0.8, linestyle="--", label="goal (3.14t)")
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(labels, fontsize=6)
    ax.set_ylabel("IOPS, 2 reactors / 1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
