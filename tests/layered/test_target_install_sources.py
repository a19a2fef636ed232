"""Dependencies published as a source distribution only, installed for a base's Python
(hatch_krust.layered.target_install) through uv and PyPI.

A pure-Python sdist (docopt 0.6.2, on PyPI as an sdist only) builds here into a
`py2.py3-none-any` wheel that fits every platform: it is installed, for the build
machine's platform and another. An sdist with a C extension would build for this machine
only: refused with one message naming it."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.layered.base_python import BasePython
from hatch_krust.layered.target_install import install_for

pytestmark = pytest.mark.infra

ARM64 = BasePython("/usr/bin/python3.11", "3.11.2", "aarch64", "glibc", (2, 36))
AMD64 = BasePython("/usr/bin/python3.11", "3.11.2", "x86_64", "glibc", (2, 36))
COMPILED = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools==75.6.0"]\n'
    'build-backend = "setuptools.build_meta"\n',
    "setup.py": "from setuptools import Extension, setup\n"
    "setup(name='krust-csrc', version='1.0', "
    "ext_modules=[Extension('krust_csrc', ['krust_csrc.c'])])\n",
    "krust_csrc.c": "#include <Python.h>\n"
    'static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "krust_csrc"};\n'
    "PyMODINIT_FUNC PyInit_krust_csrc(void) { return PyModule_Create(&m); }\n",
    "PKG-INFO": "Metadata-Version: 2.1\nName: krust-csrc\nVersion: 1.0\n",
}


def compiled_sdist(directory: Path) -> Path:
    """A find-links directory holding only the sdist of a package with a C extension."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(directory / "krust_csrc-1.0.tar.gz", "w:gz") as tar:
        for name, text in COMPILED.items():
            data = text.encode()
            info = tarfile.TarInfo(f"krust_csrc-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return directory


@pytest.mark.parametrize(("python", "platform"), [(ARM64, "linux/arm64"), (AMD64, "linux/amd64")])
def test_a_pure_python_sdist_is_built_here_and_installed(
    python: BasePython, platform: str, tmp_path: Path
) -> None:
    root = install_for(python, platform, ["docopt==0.6.2"], tmp_path / "env", os.environ)
    site = root / "lib/python3.11/site-packages"
    assert (site / "docopt.py").is_file()
    wheel = (site / "docopt-0.6.2.dist-info/WHEEL").read_text()
    assert "Tag: py3-none-any" in wheel


@pytest.mark.parametrize(
    ("python", "platform", "way_out"),
    [(ARM64, "linux/arm64", "hatch-krust merge"), (AMD64, "linux/amd64", 'python = "bundled"')],
)
def test_an_sdist_with_a_compiled_extension_is_refused_by_name(
    python: BasePython, platform: str, way_out: str, tmp_path: Path
) -> None:
    """For another machine uv refuses the wheel it built; for this one the installed
    wheel's tag (`linux_x86_64`) is what refuses it."""
    env = {**os.environ, "UV_FIND_LINKS": str(compiled_sdist(tmp_path / "links"))}
    with pytest.raises(ImageError) as caught:
        install_for(python, platform, ["krust-csrc==1.0"], tmp_path / "env", env)
    message = str(caught.value)
    assert message.startswith(f"No wheel of `krust-csrc` for {platform} (Python 3.11, ")
    assert "builds a compiled extension" in message and way_out in message
    assert "\n" not in message
