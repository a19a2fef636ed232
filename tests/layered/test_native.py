"""A native program in a wheel's `.data/scripts` (ruff, uv): the layered image holds it as
a file and scans it for shared libraries like every other ELF it holds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hatch_krust.layered import host_interpreter, plan_layers
from hatch_krust.layered.packages import split_environment
from hatch_krust.python import probe_interpreter
from tests.freeze.conftest import PYENV_PYTHON

# A host program that links a library no interpreter needs (runc is installed with the
# test tools; libseccomp is its own).
NATIVE = Path("/usr/bin/runc")


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    site = venv / "lib/python3.11/site-packages"
    dist_info = site / "tool-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: tool\nVersion: 1.0\n")
    (venv / "bin").mkdir()
    shutil.copy(NATIVE, venv / "bin/tool")
    (site / "tool").mkdir()
    (site / "tool/__init__.py").write_text("")
    rows = ["tool/__init__.py,,", "../../../bin/tool,,", "tool-1.0.dist-info/RECORD,,"]
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")
    return venv


def test_a_native_program_stays_a_file_with_its_source(tmp_path: Path) -> None:
    env = split_environment(_venv(tmp_path), "tool")
    entry = next(e for e in env.project if e.path == "/app/bin/tool")
    assert entry.source is not None and entry.data is None
    assert entry.mode == 0o755
    assert env.scripts["tool"] == "/app/bin/tool"


@pytest.mark.infra  # lays out this machine's pyenv interpreter
def test_the_plan_scans_the_native_program_for_its_libraries(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    interpreter = host_interpreter(probe_interpreter(PYENV_PYTHON, os.environ))
    plan = plan_layers(interpreter, venv, "tool", tmp_path / "work")
    names = {Path(lib.image_path).name for lib in plan.libraries.libraries}
    assert any(name.startswith("libseccomp.so") for name in names), names


def test_a_file_hiding_a_different_one_below_is_named_with_both() -> None:
    from hatch_krust.layered.layers import LayerPlan
    from hatch_krust.layered.shadows import shadowed_files
    from hatch_krust.oci.layer import bytes_entry, file_entry

    lower = LayerPlan(
        "third-party packages",
        (file_entry("/app/bin/tool", NATIVE, 0o755), bytes_entry("/app/same", b"x")),
    )
    upper = LayerPlan(
        "project",
        (bytes_entry("/app/bin/tool", b"#!/app/bin/python\n"), bytes_entry("/app/same", b"x")),
    )
    (warning,) = shadowed_files([lower, upper])
    assert warning.startswith("/app/bin/tool of the project layer (written by hatch-krust) hides")
    assert f"/app/bin/tool of the third-party packages layer (from {NATIVE})" in warning
    assert shadowed_files([upper, upper]) == []
