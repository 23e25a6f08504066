"""The CFFI build step, without SPDK: cdef rendering and the generated methods header."""

import cffi

from spdk_py.tools import ffi_build


def test_cdefs_render_and_parse_for_old_and_new_spdk():
    for version in ((20, 7, 0), (24, 9, 0), (26, 1, 0)):
        ffi = cffi.FFI()
        for text in ffi_build.render_cdefs(version):
            ffi.cdef(text)


def test_version_guarded_io_types():
    old = "".join(ffi_build.render_cdefs((20, 7, 0)))
    new = "".join(ffi_build.render_cdefs((24, 9, 0)))
    assert "SPDK_BDEV_IO_TYPE_COPY" not in old
    assert "SPDK_BDEV_IO_TYPE_COPY" in new


def test_methods_header():
    text = ffi_build.methods_header([("a_create", 2), ("b", 3)])
    assert '{"a_create", 2},' in text and '{"b", 3},' in text
    assert text.startswith("/* Generated")


def test_spdk_version_from_header(tmp_path):
    (tmp_path / "spdk").mkdir()
    (tmp_path / "spdk" / "version.h").write_text(
        "#define SPDK_VERSION_MAJOR\t24\n#define SPDK_VERSION_MINOR\t9\n"
        "#define SPDK_VERSION_PATCH\t1\n")
    assert ffi_build.spdk_version(tmp_path) == (24, 9, 1)
