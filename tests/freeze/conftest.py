"""Freeze fixtures: the demo project's wheel and frozen executables shared by the slow tests.

Each real freeze takes ~10 s, so the executables are session fixtures: one per interpreter,
plus one more for the reproducibility check.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

from hatch_krust.freeze import FreezeRequest, FreezeResult, freeze

PROJECT = Path(__file__).parent / "project"
EPOCH = 1_700_000_000


def _pyenv_python() -> str:
    """A pyenv-built interpreter: the one under this test run's venv when it is pyenv's
    (the machines' default), else the newest in ~/.pyenv; KRUST_TEST_PYENV_PYTHON wins."""
    if os.environ.get("KRUST_TEST_PYENV_PYTHON"):
        return os.environ["KRUST_TEST_PYENV_PYTHON"]
    base = Path(sys.base_prefix) / "bin" / "python3"
    if ".pyenv" in base.parts and base.exists():
        return str(base)
    found = sorted(Path.home().glob(".pyenv/versions/3.*/bin/python3"))
    return str(found[-1]) if found else "/root/.pyenv/versions/3.11.7/bin/python3"


PYENV_PYTHON = _pyenv_python()
DEBIAN_PYTHON = os.environ.get("KRUST_TEST_SYSTEM_PYTHON", "/usr/bin/python3")


def build_wheel(project: Path, out_dir: Path) -> Path:
    """Build `project`'s wheel in-process with hatchling, from a copy (the repo stays clean)."""
    source = out_dir / "src"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    builder = WheelBuilder(str(source))
    return Path(next(builder.build(directory=str(out_dir), versions=["standard"])))


def make_wheel(
    out_dir: Path,
    name: str,
    dependencies: list[str],
    files: dict[str, str],
    extra_toml: str = "",
) -> Path:
    """A small hatchling project written from strings, built to a wheel."""
    project = out_dir / f"{name}-project"
    deps = ", ".join(f'"{d}"' for d in dependencies)
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
            f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [{deps}]\n'
            f"{extra_toml}"
        ),
        **files,
    }
    for relative, text in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    return build_wheel(project, out_dir / f"{name}-dist")


@pytest.fixture(scope="session")
def demo_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(PROJECT, tmp_path_factory.mktemp("demo-wheel"))


def python_usable(python: str) -> str | None:
    """Why `python` cannot be tried here, or None. A missing libpython is not a skip: the
    freeze must fail with its hint (Debian: python3-dev), so CI shows the missing package."""
    if not Path(python).is_file():
        return f"{python} is not installed"
    return None


@dataclass
class Frozen:
    request: FreezeRequest
    result: FreezeResult
    log: list[str]


def do_freeze(wheel: Path, python: str, work_dir: Path, **options: object) -> Frozen:
    lines: list[str] = []
    request = FreezeRequest(
        wheel=wheel,
        dist_name="krust-freeze-demo",
        version="1.2.3",
        script="krust-demo",
        entry_point="krust_demo.cli:main",
        python=python,
        work_dir=work_dir,
        environ=os.environ,
        source_date_epoch=EPOCH,
        log=lines.append,
        **options,  # type: ignore[arg-type]
    )
    return Frozen(request, freeze(request), lines)


def _frozen(python: str, wheel: Path, factory: pytest.TempPathFactory, name: str) -> Frozen:
    reason = python_usable(python)
    if reason:
        pytest.fail(reason)
    return do_freeze(wheel, python, factory.mktemp(name))


@pytest.fixture(scope="session")
def frozen_pyenv(demo_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Frozen:
    """The demo frozen with the pyenv build (RUNPATH in libpython: the staticx obstacle)."""
    return _frozen(PYENV_PYTHON, demo_wheel, tmp_path_factory, "freeze-pyenv")


@pytest.fixture(scope="session")
def frozen_debian(demo_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Frozen:
    """The demo frozen with Debian's /usr/bin/python3."""
    return _frozen(DEBIAN_PYTHON, demo_wheel, tmp_path_factory, "freeze-debian")


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()
