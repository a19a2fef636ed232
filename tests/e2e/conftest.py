"""End-to-end fixtures: a copy of the plugin for `file://` requirements, test projects,
and runners for the two user paths (`python -m hatchling build`, `hatch build`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the plugin's source, so installers never serve a stale build of it."""
    target = tmp_path_factory.mktemp("plugin") / "hatch-krust"
    target.mkdir()
    shutil.copytree(
        REPO / "hatch_krust", target / "hatch_krust", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):  # the wheel ships the licence
        shutil.copy2(REPO / name, target / name)
    return target


def copy_example(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return target


def write_project(
    root: Path,
    *,
    name: str,
    version: str = "0.1.0",
    dependencies: tuple[str, ...] = (),
    scripts: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    krust: str = "",
    requires: tuple[str, ...] = ("hatchling",),
    extra: str = "",
) -> Path:
    """A small hatchling project under `root/name`; `files` are paths relative to it."""
    project = root / name
    project.mkdir(parents=True)
    deps = ", ".join(f'"{d}"' for d in dependencies)
    reqs = ", ".join(f'"{r}"' for r in requires)
    script_lines = "\n".join(f'{k} = "{v}"' for k, v in (scripts or {}).items())
    package = name.replace("-", "_")
    (project / "pyproject.toml").write_text(
        f"""[build-system]
requires = [{reqs}]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
requires-python = ">=3.9"
dependencies = [{deps}]

[project.scripts]
{script_lines}

[tool.hatch.build.targets.wheel]
packages = ["{package}"]

[tool.hatch.build.targets.krust]
{krust}

{extra}
"""
    )
    (project / package).mkdir()
    (project / package / "__init__.py").write_text("")
    for rel, text in (files or {}).items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return project


def build_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRUST_", "HATCH_"))}
    env.update({"KRUST_CACHE_DIR": str(cache_dir), "SOURCE_DATE_EPOCH": "1700000000"})
    env.update(extra)
    return env


def hatchling_build(
    project: Path, target: str, env: Mapping[str, str], python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """`python -m hatchling build -t TARGET`, with the plugin installed in this environment."""
    return subprocess.run(
        [python, "-m", "hatchling", "build", "-t", target],
        cwd=project,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def hatch_build(
    project: Path, target: str, env: Mapping[str, str], home: Path
) -> subprocess.CompletedProcess[str]:
    """The real user path: `hatch build -t TARGET` in its own isolated build environment."""
    env = dict(env)
    env.update(
        {
            "HATCH_DATA_DIR": str(home / "data"),
            "HATCH_CACHE_DIR": str(home / "cache"),
            "HATCH_ENV_ACTIVE": "",
        }
    )
    env.pop("HATCH_ENV_ACTIVE")
    hatch = shutil.which("hatch", path=str(Path(sys.executable).parent)) or "hatch"
    return subprocess.run(
        [hatch, "build", "-t", target],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def only_file(directory: Path) -> Path:
    files = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    assert len(files) == 1, f"expected one output in {directory}, found {files}"
    return files[0]
