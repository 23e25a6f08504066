"""Clean bdevperf verify runs over QEMU's emulated NVMe, per configuration.

    .venv/bin/python bench/verify_emulated_nvme.py [--runs 4] [--qd 16] [--seconds 3]

Boots the emulated-NVMe guest (spdk_py.tools.guest) and, inside it, runs
bdevperf verify through each stack over the controller, driven by SPDK's
userspace PCIe driver: the raw namespace, SPDK's own C passthru and delay
vbdevs, and the Python passthru in each mode, with bdevperf's zero-copy on
and off. Every run starts on a zeroed namespace: bdevperf's patterns repeat
from run to run, so a write that never reached the device would otherwise
read back as the pattern an earlier run left there. Prints clean/total per
configuration, writes JSON (and a PNG chart with matplotlib) to bench/results/.
"""

import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spdk_py.tools import guest, guest_image, launch, provision, shim  # noqa: E402
from spdk_py.tools.process import parse_bdevperf  # noqa: E402

STACKS = {
    "raw Nvme0n1": None,
    "SPDK C passthru": ("bdev_passthru_create", {"name": "PT0"}),
    "SPDK C delay (0 us)": ("bdev_delay_create", {"name": "PT0", "avg_read_latency": 0,
                                                   "p99_read_latency": 0, "avg_write_latency": 0,
                                                   "p99_write_latency": 0}),
    "Python passthru, python": ("bdev_python_passthru_create", {"name": "PT0", "mode": "python"}),
    "Python passthru, hybrid": ("bdev_python_passthru_create", {"name": "PT0", "mode": "hybrid"}),
}


def in_guest(args):
    """The survey itself, inside the guest: JSON rows to stdout's file."""
    # The guest tests' own helpers.
    from tests.integration.guest.conftest import (attach, bdev_config, bind, blank_namespace,
                                                  controllers, run_pcie)

    install = provision.locate()
    env = launch.app_env(install, shim.build(install, quiet=True), base={})
    bdf = controllers()[0]
    bind(bdf)
    rows = []
    for zcopy in (True, False):
        for name, stack in STACKS.items():
            config = bdev_config(attach(bdf))
            target = "Nvme0n1"
            if stack is not None:
                method, params = stack
                config["subsystems"][0]["config"].append(
                    {"method": method, "params": dict(params, base_bdev_name="Nvme0n1")})
                target = "PT0"
            row = {"stack": name, "zcopy": zcopy, "runs": 0, "clean": 0, "iops": [],
                   "first_error": None}
            for _ in range(args.runs):
                blank_namespace()
                rc, out = run_pcie(install, "bdevperf", config,
                                   ["-q", args.qd, "-o", 4096, "-w", "verify",
                                    "-t", args.seconds, "-T", target],
                                   env=env, mem_mb=512, timeout=300, zcopy=zcopy)
                result = parse_bdevperf(out)
                clean = rc == 0 and not result.failed and "ismatch" not in out
                row["runs"] += 1
                row["clean"] += clean
                if result.total:
                    row["iops"].append(result.total.iops)
                if not clean and row["first_error"] is None:
                    lines = out.splitlines()
                    row["first_error"] = next((line for line in lines if "ismatch" in line),
                                              next((line for line in lines if "ERROR" in line),
                                                   out[-300:]))
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--qd", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--in-guest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_guest:
        in_guest(args)
        return 0
    install = provision.locate()
    image = guest_image.prepare()
    workdir = pathlib.Path("/tmp/spdk_py-verify-%d" % os.getpid())
    vm = guest.for_tools(image, workdir, install, shim.build(install, quiet=True))
    out = guest_image.OUT_DIR
    status = vm.run(vm.script("%s %s --in-guest --runs %d --qd %d --seconds %d > %s/rows.jsonl "
                              "2> %s/survey.log" % (sys.executable, pathlib.Path(__file__).resolve(),
                                                    args.runs, args.qd, args.seconds, out, out)),
                    timeout=3600)
    rows = [json.loads(line) for line in (vm.out / "rows.jsonl").read_text().splitlines()
            if line.startswith("{")]
    if status != 0:
        print((vm.out / "survey.log").read_text()[-3000:], file=sys.stderr)
    print("\nbdevperf verify, 4 KiB, QD%d, %d s, zeroed namespace, SPDK %s, QEMU %s\n"
          % (args.qd, args.seconds, install.version_string, vm.accel.upper()))
    print("%-26s %-9s %7s %10s  %s" % ("stack", "zero-copy", "clean", "IOPS", "first error"))
    for row in rows:
        iops = sum(row["iops"]) / len(row["iops"]) if row["iops"] else 0
        print("%-26s %-9s %3d/%-3d %10.0f  %s" % (row["stack"], "on" if row["zcopy"] else "off",
                                                 row["clean"], row["runs"], iops,
                                                 (row["first_error"] or "")[:70]))
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = results / ("verify_emulated_nvme-%s.json" % stamp)
    path.write_text(json.dumps({"spdk": install.version_string, "accel": vm.accel, "qd": args.qd,
                                "seconds": args.seconds, "rows": rows}, indent=2))
    print("\nwrote %s" % path)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return status
    labels = ["%s\n%s" % (r["stack"], "zcopy" if r["zcopy"] else "no zcopy") for r in rows]
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.bar(range(len(rows)), [r["clean"] / max(r["runs"], 1) for r in rows])
    ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("clean verify runs (share)")
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"))
    return status


if __name__ == "__main__":
    sys.exit(main())
