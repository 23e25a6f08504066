"""The SPDK identity a shim records and the launcher checks (no SPDK needed:
two small shared libraries stand for two SPDK builds)."""

import json
import subprocess

import pytest

from spdk_py.tools import spdk_identity


def fake_spdk(root, version, body):
    """An SPDK tree as far as the identity goes: version.h and libspdk_bdev.so."""
    (root / "include" / "spdk").mkdir(parents=True)
    major, minor = version
    (root / "include" / "spdk" / "version.h").write_text(
        "#define SPDK_VERSION_MAJOR %d\n#define SPDK_VERSION_MINOR %d\n"
        "#define SPDK_VERSION_PATCH 0\n" % (major, minor))
    lib = root / "build" / "lib"
    lib.mkdir(parents=True)
    (root / "x.c").write_text("int spdk_fake(void) { return %s; }\n" % body)
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,--build-id", "-o",
                    str(lib / "libspdk_bdev.so.1.0"), str(root / "x.c")], check=True)
    (lib / "libspdk_bdev.so").symlink_to("libspdk_bdev.so.1.0")
    return root


@pytest.fixture
def trees(tmp_path):
    return (fake_spdk(tmp_path / "a", (26, 5), "1"), fake_spdk(tmp_path / "b", (20, 7), "2"))


def shim_built_for(tmp_path, tree):
    shim = tmp_path / "shim" / "libspdk_py_shim.so"
    shim.parent.mkdir(exist_ok=True)
    (shim.parent / spdk_identity.JSON_NAME).write_text(json.dumps(spdk_identity.identity(tree)))
    return shim


def test_identity_reads_the_build_id_readelf_shows(trees):
    ident = spdk_identity.identity(trees[0])
    notes = subprocess.run(["readelf", "-n", ident["library"]], capture_output=True,
                           text=True, check=True).stdout
    assert ident["build_id"] and "Build ID: " + ident["build_id"] in notes
    assert ident["version"] == "26.05" and ident["library"].endswith("libspdk_bdev.so.1.0")


def test_the_same_build_passes(tmp_path, trees):
    spdk_identity.check(shim_built_for(tmp_path, trees[0]), trees[0])


def test_another_build_is_refused_naming_both(tmp_path, trees):
    shim = shim_built_for(tmp_path, trees[0])
    with pytest.raises(spdk_identity.ShimMismatch) as err:
        spdk_identity.check(shim, trees[1])
    message = str(err.value)
    assert "\n" not in message
    assert "built for SPDK 26.05" in message and "not for SPDK 20.07" in message
    for tree in trees:
        assert spdk_identity.identity(tree)["build_id"][:16] in message


def test_a_shim_without_a_record_is_refused(tmp_path, trees):
    with pytest.raises(spdk_identity.ShimMismatch, match="says nothing of the SPDK"):
        spdk_identity.check(tmp_path / "libspdk_py_shim.so", trees[0])


def test_without_build_ids_the_library_path_decides(trees):
    a, b = (dict(spdk_identity.identity(t), build_id="") for t in trees)
    assert spdk_identity.same_build(a, dict(a)) and not spdk_identity.same_build(a, b)
