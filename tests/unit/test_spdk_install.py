"""What the tools know of SPDK releases, without SPDK: binaries, flags, config.mk."""

from pathlib import Path

import pytest

from spdk_py.tools.spdk_install import SpdkInstall, SpdkMissing, check_tree, parse_config_mk


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def tree(root: Path, major: int, minor: int, config_mk: str = "") -> Path:
    (root / "build/lib").mkdir(parents=True)
    (root / "include/spdk").mkdir(parents=True)
    (root / "build/lib/libspdk_bdev.so").write_text("")
    (root / "include/spdk/version.h").write_text(
        "#define SPDK_VERSION_MAJOR\t%d\n#define SPDK_VERSION_MINOR\t%d\n"
        "#define SPDK_VERSION_PATCH\t0\n#define SPDK_VERSION_SUFFIX\t\"\"\n" % (major, minor))
    if config_mk:
        (root / "mk").mkdir()
        (root / "mk/config.mk").write_text(config_mk)
    return root


def test_nvme_perf_by_either_name(tmp_path):
    old = tree(tmp_path / "old", 20, 7)
    perf = executable(old / "build/examples/perf")
    assert check_tree(old).bin("nvme_perf") == perf
    new = tree(tmp_path / "new", 26, 5)
    perf = executable(new / "build/bin/spdk_nvme_perf")
    executable(new / "build/examples/bdevperf")
    install = check_tree(new)
    assert install.bin("nvme_perf") == perf
    assert install.bin("bdevperf") == new / "build/examples/bdevperf"
    with pytest.raises(SpdkMissing, match="'spdk_nvme_identify' or 'identify'"):
        install.bin("nvme_identify")


def test_flags_by_release():
    root = Path("/nonexistent")
    old, mid, new = (SpdkInstall(root, v) for v in ((20, 7, 0), (22, 9, 0), (26, 5, 0)))
    assert old.bdevperf_zcopy(False) == ["-x"] and old.bdevperf_zcopy(True) == []
    assert mid.bdevperf_zcopy(False) == [] and new.bdevperf_zcopy(True) == ["-Z"]
    assert old.harness_args() == mid.harness_args() == []
    assert new.harness_args() == ["--disable-cpumask-locks"]


def test_config_mk_arch_and_dpdk(tmp_path):
    text = "CONFIG_ARCH?=haswell\nCONFIG_DPDK_LIB_DIR?=%s\nCONFIG_SHARED=y\n"
    assert parse_config_mk(text % "/x") == {"ARCH": "haswell", "DPDK_LIB_DIR": "/x",
                                            "SHARED": "y"}
    dpdk = tmp_path / "dpdk-install/lib"
    dpdk.mkdir(parents=True)
    own = check_tree(tree(tmp_path / "own", 24, 1, text % dpdk))
    assert own.arch == "haswell"
    assert own.lib_dirs == [own.root / "build/lib", dpdk]
    # Debian's DPDK is on the loader's own path: nothing to add.
    system = check_tree(tree(tmp_path / "sys", 26, 5, text % "/usr/lib/x86_64-linux-gnu"))
    assert system.lib_dirs == [system.root / "build/lib"]
    assert check_tree(tree(tmp_path / "bare", 20, 7)).arch == "native"
