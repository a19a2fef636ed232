"""The layered format lays out the interpreter that `hatch_krust.python`'s one probe
described: no second probe, the same facts. Hermetic: this test run's own interpreter."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.layered import host_interpreter
from hatch_krust.python import probe_interpreter

ENV = {"PATH": os.environ.get("PATH", os.defpath)}


def test_the_layout_comes_from_the_one_probe() -> None:
    probed = probe_interpreter(sys.executable, ENV)
    info = host_interpreter(probed).info
    layout = probed.layout
    assert (info.version, info.machine, info.soname) == (
        layout.version,
        layout.machine,
        layout.soname,
    )
    assert (info.prefix, info.executable, info.stdlib) == (
        layout.prefix,
        layout.executable,
        layout.stdlib,
    )
    short = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert info.image_executable == f"/opt/python/bin/python{short}"


def test_an_interpreter_outside_its_prefix_cannot_be_relocated(tmp_path: Path) -> None:
    probed = probe_interpreter(sys.executable, ENV)
    moved = replace(probed, layout=replace(probed.layout, executable=tmp_path / "python3"))
    with pytest.raises(ImageError) as caught:
        host_interpreter(moved)
    assert str(caught.value) == (
        f"The interpreter `{probed.executable}` keeps {tmp_path / 'python3'} outside its prefix "
        f"{probed.layout.prefix}; it cannot be relocated into the image. Use a pyenv or "
        "distribution Python."
    )
