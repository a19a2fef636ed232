"""Fixtures for `hatch-krust resolve` / `apply`: a real registry on loopback, a workspace
of tiny projects and Kubernetes YAML naming them, and a runner for the real command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, write_project

APP = """
import sys

def main():
    print("hello from", __name__, sys.argv[1:])
    return 0
"""


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One executable cache for the whole session: a freeze is ~10 s, a cache hit ~1 s."""
    return tmp_path_factory.mktemp("krust-cache")


def tiny_project(root: Path, name: str, *, scripts: bool = True) -> Path:
    package = name.replace("-", "_")
    return write_project(
        root,
        name=name,
        scripts={name: f"{package}.app:main"} if scripts else None,
        files={f"{package}/app.py": APP},
        krust='format = "static"\nbase-image = "scratch"',
    )


@dataclass(frozen=True)
class Workspace:
    """`root` is the directory resolve runs in; projects live under `root/apps`."""

    root: Path

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Two good projects, one that fails to build (no `[project.scripts]`), and a directory
    that is not a project. Shared by the tests so each project is frozen once."""
    root = tmp_path_factory.mktemp("workspace")
    tiny_project(root / "apps", "app-a")
    tiny_project(root / "apps", "app-b")
    tiny_project(root / "apps", "broken-app", scripts=False)
    (root / "not-a-project").mkdir()
    (root / "not-a-project" / "README.md").write_text("no pyproject.toml here\n")
    return Workspace(root)


def resolve_env(cache_dir: Path, home: Path, **extra: str) -> dict[str, str]:
    """The build environment of the e2e tests, with no user defaults to leak a repository."""
    env = build_env(cache_dir, XDG_CONFIG_HOME=str(home / "config"), **extra)
    env.pop("REGISTRY_AUTH_FILE", None)
    return env


def run_cli(
    args: list[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """The real command in a child process; stdout kept as bytes, to compare them exactly."""
    return subprocess.run(
        [sys.executable, "-m", "hatch_krust", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        timeout=900,
        check=False,
    )


def builds_in(stderr: str) -> dict[str, int]:
    """How many times each project built its wheel, read from the prefixed build output."""
    counts: dict[str, int] = {}
    for line in stderr.splitlines():
        if "Building the wheel with hatchling" in line:
            label = line.split("]", 1)[0].lstrip("[") if line.startswith("[") else "?"
            counts[label] = counts.get(label, 0) + 1
    return counts
