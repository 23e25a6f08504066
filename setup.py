"""The wheel carries what the shim is built from (the C sources, cdefs/, the
meson build) as package data, under spdk_py/_shim_source: `spdk-py shim
build` builds the shim from there wherever the package is installed. In a
checkout (and an editable install) it builds from the checkout itself."""

import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).resolve().parent
SHIM_SOURCE = ("meson.build", "meson_options.txt", "plugin_shim", "cdefs")


class BuildPy(build_py):
    def run(self):
        super().run()
        target = pathlib.Path(self.build_lib) / "spdk_py" / "_shim_source"
        for name in SHIM_SOURCE:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPy})
