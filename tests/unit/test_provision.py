"""The parsing and bookkeeping of SPDK provisioning and the test harness; no SPDK needed."""

import json
from pathlib import Path

import pytest

from spdk_py.tools import hugepages, provision, spdk_install
from spdk_py.tools.process import parse_bdevperf, parse_client_error

# `apt-cache showsrc ceph` on this project's machines (sid + trixie deb-src), trimmed.
SHOWSRC = """\
Package: ceph
Binary: ceph, ceph-base, ceph-base-dbg, ceph-common,
 python3-ceph-common, python3-cephfs, python3-rados, python3-rbd, python3-rgw,
Version: 18.2.7+ds-1+deb13u1
Maintainer: Ceph Packaging Team <team+ceph@tracker.debian.org>
Build-Depends: cmake, debhelper-compat (= 13),
 libaio-dev [linux-any], python3-all-dev:any
Format: 3.0 (quilt)
Files:
 f1e8b7a1b0b2a3e4c5d6e7f8a9b0c1d2 8870 ceph_18.2.7+ds-1+deb13u1.dsc
 0a1b2c3d4e5f60718293a4b5c6d7e8f9 148306992 ceph_18.2.7+ds.orig.tar.xz
Checksums-Sha256:
 97a25e3d292c8004e5b7e98307d3f178583f61e5840354638b420a12114b5e8d 8870 ceph_18.2.7+ds-1+deb13u1.dsc
 71c0795fa0d6312ec7b57dee4031559b7e62e086a78e6ae1ad8549e0b351e28f 148306992 ceph_18.2.7+ds.orig.tar.xz
 968e551356cb2ee212da405409b32f61545d9e43306fca5a0a1e5d2988c2844f 141944 ceph_18.2.7+ds-1+deb13u1.debian.tar.xz
Package-List:
 ceph deb admin optional arch=any
Directory: pool/main/c/ceph

Package: ceph
Binary: ceph, ceph-base
Version: 20.2.4+ds-2
Format: 3.0 (quilt)
Checksums-Sha256:
 3948440fdce8c34e5c30f5bd1933830f1417727c94be77ad390e3a2852df81e2 9297 ceph_20.2.4+ds-2.dsc
 190b4ca726717069b1d85b613aab99f9976a488129352a66a5ff41ada5d06730 245630284 ceph_20.2.4+ds.orig.tar.xz
 aaaa6366089e9f576eb9bee1ef7ef36196419ba1519c9857e020e44e4418b19 1000 ceph_20.2.4+ds.orig-dashboard.tar.xz
 0c6be6366089e9f576eb9bee1ef7ef36196419ba1519c9857e020e44e4418b19 149616 ceph_20.2.4+ds-2.debian.tar.xz
Directory: pool/main/c/ceph

Package: ceph
Version: 20.2.4+ds-2
Checksums-Sha256:
 190b4ca726717069b1d85b613aab99f9976a488129352a66a5ff41ada5d06730 245630284 ceph_20.2.4+ds.orig.tar.xz
"""


def test_showsrc_newest_first_with_orig_tarball_checksums():
    versions = provision.parse_showsrc(SHOWSRC)
    assert [v.version for v in versions] == ["20.2.4+ds-2", "18.2.7+ds-1+deb13u1"]
    newest = versions[0]
    assert newest.tarball == "ceph_20.2.4+ds.orig.tar.xz"  # not the orig-<component> one
    assert newest.sha256 == "190b4ca726717069b1d85b613aab99f9976a488129352a66a5ff41ada5d06730"
    assert newest.size == 245630284
    assert versions[1].tarball == "ceph_18.2.7+ds.orig.tar.xz"


def test_showsrc_without_sources():
    assert provision.parse_showsrc("") == []
    assert provision.parse_showsrc("Package: ceph\nVersion: 1.0-1\n") == []


@pytest.mark.parametrize("a, b, expected", [
    ("20.2.4+ds-2", "18.2.7+ds-1+deb13u1", 1),
    ("18.2.7+ds-1", "18.2.7+ds-1+deb13u1", -1),
    ("1.0~rc1-1", "1.0-1", -1),
    ("1:1.0-1", "2.0-1", 1),
    ("2.0-1", "10.0-1", -1),
    ("1.0a-1", "1.0+-1", -1),
    ("20.2.4+ds-2", "20.2.4+ds-2", 0),
])
def test_debian_version_order_matches_dpkg(a, b, expected):
    result = provision.compare_debian_versions(a, b)
    assert (result > 0) - (result < 0) == expected


VERSION_H = """\
#ifndef SPDK_VERSION_H
#define SPDK_VERSION_H

/**
 * Major version number (year of original release minus 2000).
 */
#define SPDK_VERSION_MAJOR\t20

/**
 * Minor version number (month of original release).
 */
#define SPDK_VERSION_MINOR\t7

#define SPDK_VERSION_PATCH\t0

#define SPDK_VERSION_SUFFIX\t""
#endif
"""


def test_version_h():
    assert spdk_install.parse_version_h(VERSION_H) == ((20, 7, 0), "")
    pre = VERSION_H.replace('\t""', '\t"-pre"').replace("MINOR\t7", "MINOR\t10")
    assert spdk_install.parse_version_h(pre) == ((20, 10, 0), "-pre")
    with pytest.raises(ValueError):
        spdk_install.parse_version_h("#define SPDK_VERSION_MAJOR 20\n")


def test_version_string():
    root = Path("/nonexistent")
    assert spdk_install.SpdkInstall(root, (20, 7, 0)).version_string == "20.07"
    assert spdk_install.SpdkInstall(root, (20, 7, 1)).version_string == "20.07.1"
    assert spdk_install.SpdkInstall(root, (24, 9, 0), "-pre").version_string == "24.09-pre"


DEBIAN_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_sources_uri_from_deb822():
    entries = provision.parse_sources_deb822(DEBIAN_SOURCES)
    assert [e.uris for e in entries] == [("http://deb.debian.org/debian",),
                                         ("http://deb.debian.org/debian-security",)]
    assert provision.archive_uri(entries) == "http://deb.debian.org/debian"
    # The security archive alone is not the archive ceph comes from.
    assert provision.archive_uri(entries[1:]) is None


def test_sources_uri_skips_disabled_and_reads_one_line_format():
    disabled = DEBIAN_SOURCES.replace("Types: deb\n#", "Types: deb\nEnabled: no\n#", 1)
    assert provision.archive_uri(provision.parse_sources_deb822(disabled)) is None
    listing = ("# comment\n"
               "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n"
               "deb http://security.debian.org/debian-security bookworm-security main\n")
    entries = provision.parse_sources_list(listing)
    assert len(entries) == 2
    assert provision.archive_uri(entries) == "http://mirror.example/debian"


def test_machine_archive_uri_reads_files(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("")
    (tmp_path / "sources.list.d/debian.sources").write_text(DEBIAN_SOURCES)
    (tmp_path / "sources.list.d/other.list.disabled").write_text(
        "deb http://wrong.example/debian bookworm main\n")
    paths = (tmp_path / "sources.list", tmp_path / "sources.list.d")
    assert provision.machine_archive_uri(paths) == "http://deb.debian.org/debian"
    (tmp_path / "sources.list.d/debian.sources").unlink()
    with pytest.raises(provision.SpdkBuildError):
        provision.machine_archive_uri(paths)


def test_private_sources_list():
    assert provision.apt_source_lines("http://deb.debian.org/debian") == (
        "deb-src http://deb.debian.org/debian sid main\n"
        "deb-src http://deb.debian.org/debian trixie main\n")


# lib/iscsi/iscsi.c of the SPDK in ceph 18.2.7 (trixie): does not compile with glibc 2.36.
ISCSI_TRIXIE = """\
#ifdef __FreeBSD__
#define HAVE_SRANDOMDEV 1
#define HAVE_ARC4RANDOM 1
#endif

#ifndef HAVE_ARC4RANDOM
static int g_arc4random_initialized = 0;

static uint32_t
arc4random(void)
{
\tuint32_t r;
\tuint32_t r1, r2;

\tif (!g_arc4random_initialized) {
\t\tsrandomdev();
\t\tg_arc4random_initialized = 1;
\t}
\tr1 = (uint32_t)(random() & 0xffff);
\tr2 = (uint32_t)(random() & 0xffff);
\tr = (r1 << 16) | r2;
\treturn r;
}
#endif /* HAVE_ARC4RANDOM */

static void
gen_random(uint8_t *buf, size_t len)
{
\tuint32_t r;
\tsize_t idx;

\tfor (idx = 0; idx < len; idx++) {
\t\tr = arc4random();
\t\tbuf[idx] = (uint8_t) r;
\t}
}
"""


def test_arc4random_patch_renames_the_static_function():
    patched = provision.patch_arc4random(ISCSI_TRIXIE)
    assert patched is not None
    assert "\nspdk_py_iscsi_arc4random(void)\n" in patched
    assert "r = spdk_py_iscsi_arc4random();" in patched
    assert "g_arc4random_initialized = 1;" in patched  # other names untouched
    assert "arc4random(" not in patched.replace("spdk_py_iscsi_arc4random(", "")
    assert provision.patch_arc4random(patched) is None  # idempotent


def test_arc4random_patch_leaves_guarded_and_other_files_alone():
    # The sid tree (ceph 20.2.x) guards the function with a configure check.
    guarded = ISCSI_TRIXIE.replace("#ifndef HAVE_ARC4RANDOM",
                                   "#ifndef SPDK_CONFIG_HAVE_ARC4RANDOM")
    assert provision.patch_arc4random(guarded) is None
    assert provision.patch_arc4random("int main(void) { return arc4random(); }\n") is None


def test_apply_patches_on_a_tree(tmp_path):
    (tmp_path / "lib/iscsi").mkdir(parents=True)
    (tmp_path / "lib/iscsi/iscsi.c").write_text(ISCSI_TRIXIE)
    applied = provision.apply_patches(tmp_path)
    assert len(applied) == 1 and applied[0].startswith("lib/iscsi/iscsi.c: ")
    assert provision.apply_patches(tmp_path) == []


def _fake_tree(root: Path) -> Path:
    (root / "build/lib").mkdir(parents=True)
    (root / "dpdk/build/lib").mkdir(parents=True)
    (root / "include/spdk").mkdir(parents=True)
    (root / "build/bin").mkdir(parents=True)
    (root / "build/lib/libspdk_bdev.so").write_text("")
    (root / "include/spdk/version.h").write_text(VERSION_H)
    tgt = root / "build/bin/spdk_tgt"
    tgt.write_text("#!/bin/sh\n")
    tgt.chmod(0o755)
    return root


def test_spdk_dir_is_used_and_checked(tmp_path, monkeypatch):
    tree = _fake_tree(tmp_path / "spdk")
    monkeypatch.setenv("SPDK_DIR", str(tree))
    install = provision.locate()
    assert install.root == tree and install.version == (20, 7, 0)
    assert install.lib_dirs == [tree / "build/lib", tree / "dpdk/build/lib"]
    assert install.bin("spdk_tgt") == tree / "build/bin/spdk_tgt"
    with pytest.raises(provision.SpdkMissing, match="bdevperf"):
        install.bin("bdevperf")
    env = install.env({"LD_LIBRARY_PATH": f"/usr/lib:{tree / 'build/lib'}", "X": "1"})
    assert env["LD_LIBRARY_PATH"] == f"{tree}/build/lib:{tree}/dpdk/build/lib:/usr/lib"
    assert env["X"] == "1"
    lines = provision.env_lines(install)
    assert lines[0] == f"export SPDK_DIR={tree}"
    assert lines[1].startswith(f"export LD_LIBRARY_PATH={tree}/build/lib:")

    (tree / "build/lib/libspdk_bdev.so").unlink()  # a static build is not enough
    with pytest.raises(provision.SpdkMissing, match="--with-shared"):
        provision.locate(build=True)


def test_cached_build_found_by_stamp(tmp_path, monkeypatch):
    monkeypatch.delenv("SPDK_DIR", raising=False)
    monkeypatch.setenv("SPDK_PY_CACHE", str(tmp_path))
    with pytest.raises(provision.SpdkMissing, match="python3 -m spdk_py spdk build"):
        provision.locate()
    key_dir = tmp_path / "spdk-0123456789abcdef"
    _fake_tree(key_dir / "spdk")
    with pytest.raises(provision.SpdkMissing):  # no stamp: an unfinished build
        provision.locate()
    stamp = {"configure": list(provision.CONFIGURE_ARGS), "source_version": "20.2.4+ds-2"}
    (key_dir / ".built").write_text(json.dumps(stamp))
    install = provision.locate()
    assert install.root == key_dir / "spdk"
    assert "20.2.4+ds-2" in install.origin
    stamp["configure"] = ["--with-shared"]  # built with other flags: not reused
    (key_dir / ".built").write_text(json.dumps(stamp))
    assert provision.finished_builds(tmp_path) == []


# SPDK 20.07 bdevperf output (captured; "\r" as printed), one job with failures.
BDEVPERF_2007 = (
    "Running I/O for 1 seconds...\n"
    "\r Thread name: Malloc0_1\n"
    "\r Core Mask: 0x1\n"
    "\r Malloc0             :  956832.00 IOPS    3737.62 MiB/s\n"
    "\r Thread name: EE_Malloc0_1\n"
    "\r Core Mask: 0x1\n"
    "\r EE_Malloc0          :       0.00 IOPS       0.00 MiB/s\n"
    "\r                     :   64464.00 Fail/s     0.00 TO/s\n"
    "\r =====================================================\n"
    "\r Total               :  956832.00 IOPS    3737.62 MiB/s\n"
    "\r                     :   64464.00 Fail/s     0.00 TO/s\n"
)


def test_bdevperf_2007_format():
    result = parse_bdevperf(BDEVPERF_2007)
    assert [(j.name, j.iops, j.mib_per_s, j.fail_per_s) for j in result.jobs] == [
        ("Malloc0", 956832.0, 3737.62, 0.0), ("EE_Malloc0", 0.0, 0.0, 64464.0)]
    assert (result.total.iops, result.total.fail_per_s) == (956832.0, 64464.0)
    assert result.failed


def test_bdevperf_2007_clean_run_and_newlines():
    # subprocess text mode turns "\r" into "\n": the same result either way.
    clean = "\n".join(line for line in BDEVPERF_2007.splitlines() if "Fail/s" not in line
                      and "EE_" not in line)
    for text in (clean, clean.replace("\r", "\n")):
        result = parse_bdevperf(text)
        assert [j.name for j in result.jobs] == ["Malloc0"]
        assert result.total.iops == 956832.0 and not result.failed


def test_bdevperf_periodic_output_keeps_the_last_summary():
    periodic = BDEVPERF_2007.replace("956832.00", "1.00") + BDEVPERF_2007
    result = parse_bdevperf(periodic)
    assert result.total.iops == 956832.0 and len(result.jobs) == 2


# Newer SPDK (table with latency); Total leaves the runtime column blank.
BDEVPERF_TABLE = (
    "\n" + " " * 96 + "Latency(us)\n"
    "\r Device Information          : runtime(s)       IOPS      MiB/s     Fail/s     TO/s"
    "    Average        min        max\n"
    "Job: Malloc0 (Core Mask 0x1, workload: randread, depth: 32, IO size: 4096)\n"
    "\t Malloc0             :       2.00  500000.50    1953.13       1.50     0.00"
    "      63.80       8.50     200.00\n"
    "\r =================================================================================\n"
    "\r Total                       :             500000.50    1953.13       1.50     0.00"
    "      63.80       8.50     200.00\n"
)


def test_bdevperf_table_format():
    result = parse_bdevperf(BDEVPERF_TABLE)
    (job,) = result.jobs
    assert (job.name, job.iops, job.mib_per_s, job.fail_per_s) == ("Malloc0", 500000.5,
                                                                  1953.13, 1.5)
    assert job.extra == {"runtime(s)": 2.0, "Average": 63.8, "min": 8.5, "max": 200.0}
    assert result.total.iops == 500000.5 and "runtime(s)" not in result.total.extra
    assert result.failed


def test_bdevperf_ignores_log_lines():
    assert parse_bdevperf("[2026] app.c: 666:spdk_app_start: *NOTICE*: Total cores "
                          "available: 1\nTotal cores available: 1\n").total is None


def test_client_error_text():
    # What spdk.rpc.client.JSONRPCClient.call() puts in JSONRPCException.message.
    text = ('request:\n{\n  "method": "no_such_method",\n  "req_id": 3\n}\n'
            'Got JSON-RPC error response\nresponse:\n'
            '{\n  "code": -32601,\n  "message": "Method not found"\n}')
    assert parse_client_error(text) == {"code": -32601, "message": "Method not found"}
    assert parse_client_error("Error while connecting to /tmp/x.sock\n") is None


MEMINFO = """\
MemTotal:       24683520 kB
HugePages_Total:    1024
HugePages_Free:      896
HugePages_Rsvd:        0
Hugepagesize:       2048 kB
"""


def test_hugepages_meminfo_and_mounts():
    info = hugepages.meminfo(MEMINFO)
    assert (info["HugePages_Free"], info["Hugepagesize"]) == (896, 2048)
    mounts = ("proc /proc proc rw 0 0\n"
              "nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n")
    assert hugepages.hugetlbfs_mounted(Path("/dev/hugepages"), mounts)
    assert not hugepages.hugetlbfs_mounted(Path("/mnt/huge"), mounts)


def test_hugepages_cleanup_only_that_pid(tmp_path, monkeypatch):
    monkeypatch.setattr(hugepages, "MOUNT_POINT", tmp_path / "huge")
    monkeypatch.setattr(hugepages, "DPDK_RUN_DIR", tmp_path / "run")
    (tmp_path / "huge").mkdir()
    for name in ("spdk_pid12map_0", "spdk_pid12map_1", "spdk_pid123map_0", "other"):
        (tmp_path / "huge" / name).write_text("")
    (tmp_path / "run/spdk_pid12").mkdir(parents=True)
    removed = hugepages.cleanup_pid(12)
    assert len(removed) == 3
    assert sorted(p.name for p in (tmp_path / "huge").iterdir()) == ["other",
                                                                    "spdk_pid123map_0"]
    assert not (tmp_path / "run/spdk_pid12").exists()
