"""The demo: the Python passthru in a stock spdk_tgt, serving real I/O.

  1. spdk_tgt starts with the shim (the environment `spdk-py run` gives);
  2. SPDK's own scripts/rpc.py, with `--plugin spdk_py.tools.rpc_plugin`, creates a
     malloc bdev, the Python passthru over it, and exports the passthru as an
     NVMe-oF/TCP namespace on 127.0.0.1;
  3. bdevperf, a second SPDK process, attaches over NVMe/TCP and runs a
     verify workload (writes, reads back, compares) through the Python vbdev;
  4. the I/O counts of both bdevs are printed, the vbdev deleted, the target stopped.
"""

import json

from spdk_py.tools import hugepages, launch, nvmf, provision, shim
from spdk_py.tools import process
from spdk_py.tools.process import SpdkProcess, parse_bdevperf, run_app

NQN = "nqn.2016-06.io.spdk:spdk-py-demo"


def rpc_py(install, target, *args):
    """SPDK's own rpc.py, with this project's plugin, against the target."""
    print("$ rpc.py " + " ".join(map(str, args)))
    done = process.rpc_py(install, target.rpc_socket, *args)
    if done.returncode != 0:
        raise SystemExit("rpc.py failed (exit %d):\n%s%s" % (done.returncode, done.stdout,
                                                              done.stderr))
    out = done.stdout
    if out.strip():
        print("  " + out.strip().replace("\n", "\n  "))
    return out


def main():
    install = provision.locate()
    hugepages.ensure()
    shim_path = shim.build(install, quiet=True)
    print("SPDK %s at %s\nshim %s\n" % (install.version_string, install.root, shim_path))

    port = nvmf.free_port()
    target = SpdkProcess(install, "spdk_tgt", cpumask="0x1", mem_mb=512,
                         env=launch.app_env(install, shim_path, base={})).start()
    try:
        rpc_py(install, target, "bdev_malloc_create", "-b", "Malloc0", 64, 512)
        rpc_py(install, target, "bdev_python_passthru_create", "-b", "Malloc0", "-p", "PyPT0")
        rpc_py(install, target, "nvmf_create_transport", "-t", "TCP")
        rpc_py(install, target, "nvmf_create_subsystem", NQN, "-a", "-s", "SPDK00000000000001")
        rpc_py(install, target, "nvmf_subsystem_add_ns", NQN, "PyPT0")
        rpc_py(install, target, "nvmf_subsystem_add_listener", NQN, "-t", "tcp",
               "-a", "127.0.0.1", "-s", port)
        info = target.rpc("bdev_get_bdevs", name="PyPT0")[0]["driver_specific"]
        print("\nPyPT0 driver_specific: %s\n" % json.dumps(info))

        initiator = nvmf.initiator_config(port, NQN)
        print("$ bdevperf (NVMe/TCP initiator) -w verify -q 32 -o 4096 -t 3")
        rc, out = run_app(install, "bdevperf", initiator,
                          ["-q", 32, "-o", 4096, "-w", "verify", "-t", 3],
                          cpumask="0x2", mem_mb=512, timeout=60)
        result = parse_bdevperf(out)
        if rc != 0 or result.failed:
            print(out)
            raise SystemExit("bdevperf failed (rc %d)" % rc)
        print("  verify through the Python passthru: %.0f IOPS, %.1f MiB/s, data checked"
              % (result.total.iops, result.total.mib_per_s))

        stats = {b["name"]: b for b in target.rpc("bdev_get_iostat")["bdevs"]}
        print("\n%-8s %12s %12s" % ("bdev", "reads", "writes"))
        for name in ("PyPT0", "Malloc0"):
            print("%-8s %12d %12d" % (name, stats[name]["num_read_ops"],
                                      stats[name]["num_write_ops"]))
        rpc_py(install, target, "nvmf_delete_subsystem", NQN)
        rpc_py(install, target, "bdev_python_passthru_delete", "-p", "PyPT0")
        left = [b["name"] for b in target.rpc("bdev_get_bdevs")]
        print("\nbdevs after delete: %s" % ", ".join(left))
    finally:
        rc = target.stop()
    print("spdk_tgt exited with %s" % rc)
    return 0 if rc == 0 else 1

