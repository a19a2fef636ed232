"""Real freezes of the demo project (PyYAML with its C loader, package data, metadata,
a dynamic import): with the pyenv Python, with Debian's, twice for reproducibility, and
run in an empty root holding nothing but the executable."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from hatch_krust.freeze.elf import verify_static
from hatch_krust.python import backends
from tests.freeze.conftest import (
    DEBIAN_PYTHON,
    EPOCH,
    PYENV_PYTHON,
    Frozen,
    do_freeze,
    python_usable,
)
from tests.infra.runtime import run_in_chroot

pytestmark = pytest.mark.slow

EXPECTED = {
    "cloader": True,
    "data": "hello from package data",
    "frozen": True,
    "plugin": "extra-plugin",
    "version": "1.2.3",
    "yaml": {"answer": 42, "list": [1, 2]},
}
needs_root = pytest.mark.runtime  # root is checked once for the session (tests/conftest.py)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def has_runpath(path: Path) -> bool:
    with path.open("rb") as stream:
        for section in ELFFile(stream).iter_sections():
            if isinstance(section, DynamicSection):
                return any(t.entry.d_tag in ("DT_RUNPATH", "DT_RPATH") for t in section.iter_tags())
    return False


@pytest.mark.runtime
@needs_root
@pytest.mark.parametrize("which", ["frozen_pyenv", "frozen_debian"])
def test_runs_in_an_empty_root(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    frozen: Frozen = request.getfixturevalue(which)
    proc = run_in_chroot(frozen.result.executable, [], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == EXPECTED
    failing = run_in_chroot(frozen.result.executable, ["--fail"], tmp_path)
    assert failing.returncode == 3


@pytest.mark.parametrize("which", ["frozen_pyenv", "frozen_debian"])
def test_result_is_static_and_described(which: str, request: pytest.FixtureRequest) -> None:
    frozen: Frozen = request.getfixturevalue(which)
    result = frozen.result
    assert result.executable.name == "krust-demo"
    assert result.executable.stat().st_mode & 0o777 == 0o755
    assert verify_static(result.executable).is_static
    assert set(result.tools) >= {"freezer", "python", "pyinstaller", "staticx", "patchelf", "glibc"}
    assert result.distributions["krust-freeze-demo"] == "1.2.3"
    assert "PyYAML" in result.distributions
    stages = [line.split(" ")[0] + " " + line.split(" ")[1] for line in frozen.log]
    assert stages == [
        "Creating the",
        "Running PyInstaller",
        "Running staticx",
        "Verifying the",
        "Checking the",  # the import check (freeze/importcheck.py) and its result
        "Import check:",
    ]


def test_pyenv_runpath_is_removed_from_copies(frozen_pyenv: Frozen) -> None:
    """The staticx obstacle is real here (pyenv libpython has RUNPATH) and the fix handled it."""
    copies = list((frozen_pyenv.request.work_dir / "pyinstaller" / "norunpath").rglob("*.so*"))
    assert any(p.name.startswith("libpython") for p in copies)
    assert not any(has_runpath(p) for p in copies)


def test_staticx_archive_members_are_normalised(frozen_pyenv: Frozen) -> None:
    with frozen_pyenv.result.executable.open("rb") as stream:
        section = ELFFile(stream).get_section_by_name(".staticx.archive")
        assert section is not None
        data = section.data()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
    assert any(m.name.startswith("libc.so") for m in members)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(EPOCH, 0, 0, "", "")}


def test_two_builds_are_byte_identical(
    frozen_pyenv: Frozen, demo_wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if python_usable(PYENV_PYTHON):
        pytest.fail("no pyenv Python; set KRUST_TEST_PYENV_PYTHON")
    # The wheel lies elsewhere too, as in a second clean build (its path must not leak in).
    work = tmp_path_factory.mktemp("freeze-again")
    wheel = Path(shutil.copy2(demo_wheel, work / demo_wheel.name))
    again = do_freeze(wheel, PYENV_PYTHON, work / "work")
    assert again.request.work_dir != frozen_pyenv.request.work_dir
    assert sha256(again.result.executable) == sha256(frozen_pyenv.result.executable)


def test_without_uv_pip_builds_the_environment(
    demo_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv is a dependency, but a missing uv binary must fall back to venv + pip, not fail."""
    if python_usable(DEBIAN_PYTHON):
        pytest.fail(f"{DEBIAN_PYTHON} is not installed; run scripts/test.sh")
    monkeypatch.setattr(backends, "find_uv", lambda _env: None)
    frozen = do_freeze(demo_wheel, DEBIAN_PYTHON, tmp_path / "work")
    assert "pip" in frozen.result.distributions
    proc = subprocess.run(
        [str(frozen.result.executable)], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == EXPECTED
