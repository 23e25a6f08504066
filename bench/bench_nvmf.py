"""NVMe-oF/TCP loopback benchmark: the Python vbdev as a namespace vs SPDK's C passthru
vs the bare malloc bdev.

    .venv/bin/python bench/bench_nvmf.py [--seconds 5] [--runs 3]

spdk_tgt (core 0, shim loaded for every configuration) exports the namespace;
SPDK's NVMe perf example (core 1) runs 4K random reads at QD32 against it. Rounds
interleave the configurations; ratios to the C passthru use each one's best run.
Prints a table, writes JSON and a PNG chart under bench/results/.
"""

import argparse
import pathlib
import re
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spdk_py.tools import hugepages, launch, nvmf, provision, shim  # noqa: E402
from spdk_py.tools.process import SpdkProcess, run_app  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from bench_passthru import save_report  # noqa: E402

CONFIGS = {
    "malloc": None,
    "c_passthru": ("bdev_passthru_create", {}),
    "python_hybrid": ("bdev_python_passthru_create", {"mode": "hybrid"}),
    "python_python": ("bdev_python_passthru_create", {"mode": "python"}),
}


def run_one(install, env, create, seconds):
    target = SpdkProcess(install, env=env, cpumask="0x1", mem_mb=512).start()
    try:
        target.rpc("bdev_malloc_create", name="Malloc0", num_blocks=262144, block_size=512)
        served = "Malloc0"
        if create is not None:
            method, extra = create
            target.rpc(method, base_bdev_name="Malloc0", name="PT0", **extra)
            served = "PT0"
        port = nvmf.free_port()
        nqn = nvmf.export(target, served, port)
        rc, out = run_app(install, "nvme_perf", None,
                          ["-q", 32, "-o", 4096, "-w", "randread", "-t", seconds, "-c", "0x2",
                           "-s", 512, "-r", nvmf.perf_transport_id(port, nqn)],
                          timeout=seconds * 4 + 60, app_args=False)
        m = re.search(r"^Total\s*:\s*([\d.]+)\s", out, re.M)
        if rc != 0 or m is None:
            raise RuntimeError("perf failed (rc %d):\n%s" % (rc, out[-3000:]))
        return float(m.group(1))
    finally:
        target.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    install = provision.locate()
    hugepages.ensure()
    env = launch.app_env(install, shim.build(install, quiet=True), base={})

    iops = {}
    for run in range(args.runs):
        for name, create in CONFIGS.items():
            iops.setdefault(name, []).append(run_one(install, env, create, args.seconds))
            print("run %d %-14s %10.0f IOPS" % (run + 1, name, iops[name][-1]), file=sys.stderr)

    base = max(iops["c_passthru"])
    rows = {name: {"iops_best": max(s), "iops_median": statistics.median(s), "iops_runs": s,
                   "ratio_to_c_passthru": max(s) / base} for name, s in iops.items()}
    report = {"spdk": install.version_string, "seconds": args.seconds, "runs": args.runs,
              "workload": "NVMe/TCP loopback, perf randread 4K QD32",
              "results": {"nvmf_tcp_qd32": rows}}
    print("\n%-14s %12s %12s %9s" % ("config", "best IOPS", "median", "x C pt"))
    for name, row in rows.items():
        print("%-14s %12.0f %12.0f %9.3f" % (name, row["iops_best"], row["iops_median"],
                                           row["ratio_to_c_passthru"]))
    save_report(report, "nvmf")


if __name__ == "__main__":
    main()
