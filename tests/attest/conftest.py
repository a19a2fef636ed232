"""Fixtures: one project with a compiled dependency (PyYAML), built for real once per
session (frozen once, then from the executable cache), on a base made by umoci, pushed to
Debian's docker-registry (which has no referrers API)."""

from __future__ import annotations

import importlib.metadata
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project
from tests.infra.images import BASE_TAG, make_umoci_base
from tests.infra.registry import RegistryServer
from tests.infra.tools import require_tool

APP = """
import yaml

def main():
    print(yaml.safe_dump({"ok": True}))
"""
# the version this test environment has, so its RECORD is an independent witness
PYYAML = importlib.metadata.version("pyyaml")
NAME = "yaml-app"
VERSION = "1.2.0"
STEM = f"{NAME}-{VERSION}"
GIT_DATES = {
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


def yaml_project(root: Path, base: Path | None) -> Path:
    """The test project, in a git checkout with one commit (fixed dates: a fixed hash).

    Without `base`, the base image comes from the environment (KRUST_BASE_IMAGE).
    """
    project = write_project(
        root,
        name=NAME,
        version=VERSION,
        dependencies=(f"pyyaml=={PYYAML}",),
        scripts={NAME: "yaml_app.app:main"},
        files={"yaml_app/app.py": APP},
        krust='format = "static"\n'
        + (f'base-image = "oci:{base}:{BASE_TAG}"\n' if base is not None else ""),
    )
    git = require_tool("git")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), **GIT_DATES}
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "x"],
    ):
        subprocess.run([git, *args], cwd=project, env=env, check=True, capture_output=True)
    return project


@dataclass(frozen=True)
class Built:
    project: Path
    out: Path
    stdout: str
    stderr: str

    def file(self, suffix: str) -> Path:
        return self.out / f"{STEM}{suffix}"


def build(project: Path, cache_dir: Path, **env: str) -> Built:
    result = hatchling_build(project, "krust", build_env(cache_dir, **env))
    assert result.returncode == 0, result.stderr[-4000:]
    return Built(project, project / "dist" / "krust", result.stdout, result.stderr)


@pytest.fixture(scope="session")
def base_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("umoci")
    return make_umoci_base(tmp_path_factory.mktemp("base") / "layout")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path, base_layout: Path) -> Built:
    """The first build: a real freeze (PyInstaller + staticx), not pushed."""
    return build(yaml_project(tmp_path_factory.mktemp("first"), base_layout), cache_dir)


@pytest.fixture(scope="session")
def pushed(
    built: Built,
    registry: RegistryServer,
    cache_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    base_layout: Path,
) -> Built:
    """A second build of the same project (from the cache), pushed to the real registry."""
    project = yaml_project(tmp_path_factory.mktemp("pushed"), base_layout)
    return build(project, cache_dir, KRUST_REPO=f"{registry.host}/team")
