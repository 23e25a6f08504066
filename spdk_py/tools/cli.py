"""spdk-py (or python -m spdk_py): the tools that run beside SPDK, one command.

    spdk-py spdk build|dir|env           find or build SPDK ($SPDK_DIR, else a cached build)
    spdk-py shim build                   build the plugin shim for it; print the library
    spdk-py hugepages setup|check        2 MB hugepages for SPDK processes
    spdk-py run [--app A] [--plugins M] [--main M:F] [--] <SPDK arguments>
                                         an SPDK app with the Python bdev modules loaded
                                         (and a Python program run on its app thread)
    spdk-py demo                         the main job (what ci/demo.sh runs)
    spdk-py guest setup|run [--] <cmd>   the emulated-NVMe QEMU guest: its parts; a shell
                                         command in it, on this machine's own root

Standard library only: `spdk build` and `hugepages setup` run with the system
python3, before the venv (and any dependency) exists.
"""

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from spdk_py.tools import demo, guest, guest_image, hugepages, launch, provision, shim


def _run(args):
    rest = args.args[1:] if args.args[:1] == ["--"] else args.args
    return launch.run(args.app, args.plugins, rest, main=args.main)


def _guest(args):
    image = guest_image.prepare()
    if args.action == "setup":
        print(image.root)
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    install = provision.locate()
    workdir = Path(tempfile.mkdtemp(prefix="spdk_py-guest-", dir="/tmp"))
    vm = guest.for_tools(image, workdir, install, shim.build(install, quiet=True))
    return vm.run(vm.script(shlex.join(command) or "true"), timeout=3600, echo=True)


def parser():
    top = argparse.ArgumentParser(prog="spdk-py", description=__doc__.splitlines()[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="\n".join(__doc__.splitlines()[2:12]))
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("spdk", help="find or build SPDK")
    p.add_argument("action", choices=("build", "dir", "env"),
                   help="build: ensure a build exists and print where and which version; "
                        "dir: print its SPDK_DIR; env: print export lines")
    p.set_defaults(func=lambda args: provision.command(args.action))

    p = sub.add_parser("shim", help="build the plugin shim; print its path")
    p.add_argument("action", choices=("build",))
    p.set_defaults(func=lambda args: shim.command())

    p = sub.add_parser("hugepages", help="hugepages for SPDK processes")
    p.add_argument("action", choices=("setup", "check"),
                   help="setup: mount hugetlbfs and reserve pages (root; never lowers "
                        "vm.nr_hugepages); check: exit 1 if short")
    p.add_argument("--pages", type=int, default=hugepages.DEFAULT_PAGES,
                   help=f"2 MB pages that must be free (default {hugepages.DEFAULT_PAGES})")
    p.set_defaults(func=lambda args: hugepages.command(args.action, args.pages))

    p = sub.add_parser("run", help="run an SPDK app with the Python bdev modules loaded",
                       epilog="Everything after the options (or after --) goes to the "
                              "SPDK application.")
    p.add_argument("--app", default="spdk_tgt", choices=launch.APPS)
    p.add_argument("--plugins", default=None,
                   help="comma-separated Python modules implementing bdev modules "
                        "(default: spdk_py.passthru)")
    p.add_argument("--main", default=None, metavar="MODULE:FUNCTION",
                   help="a Python function run on the app thread once the app is up "
                        "(an async one stops the app when it returns: spdk_py.app)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_run)

    p = sub.add_parser("demo", help="the demo: spdk_tgt, the Python passthru, NVMe/TCP, bdevperf")
    p.set_defaults(func=lambda args: demo.main())

    p = sub.add_parser("guest", help="the emulated-NVMe guest (QEMU)",
                       epilog="run: the command runs in the guest as root, in the host's own "
                              "root (read-only; /tmp is the guest's), with the environment the "
                              "tests get: SPDK_DIR, SPDK_PY_SHIM, ... The NVMe controller is "
                              "unbound: tests/integration/guest/conftest.py's bind() binds it.")
    p.add_argument("action", choices=("setup", "run"))
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_guest)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
