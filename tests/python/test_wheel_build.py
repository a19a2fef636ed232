"""The project's wheel as the project builds it: build hooks, their dependencies, failures,
and a wheel given by the `wheel` option."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from hatch_krust.errors import ConfigError, KrustError
from hatch_krust.python.wheel_build import build_wheel, given_wheel
from tests.e2e.conftest import write_project

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
ENV = os.environ

FAILING_HOOK = """
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        raise RuntimeError("the version file is missing: run make first")
"""


@pytest.mark.infra
def test_a_hook_with_its_own_dependencies_is_built_in_isolation(tmp_path: Path) -> None:
    project = tmp_path / "hook-deps"
    shutil.copytree(PROJECTS / "hook-deps", project)
    said: list[str] = []
    wheel = build_wheel(project, tmp_path / "out", ENV, said.append)
    assert said == ["Building the wheel in an isolated build environment (uv build)"]
    with zipfile.ZipFile(wheel) as archive:
        generated = archive.read("hook_deps/_generated.py").decode()
    assert generated == "MESSAGE = 'generee au moment du build'\n"


def test_a_project_needing_nothing_more_is_built_in_process(tmp_path: Path) -> None:
    project = write_project(tmp_path, name="plain", scripts={"plain": "plain:main"})
    said: list[str] = []
    wheel = build_wheel(project, tmp_path / "out", ENV, said.append)
    assert said == ["Building the wheel with hatchling"]
    assert wheel.name == "plain-0.1.0-py3-none-any.whl"


def hook_project(tmp_path: Path, hooks: str) -> Path:
    return write_project(
        tmp_path,
        name="hooked",
        scripts={"hooked": "hooked:main"},
        files={"hatch_build.py": FAILING_HOOK},
        extra=hooks,
    )


@pytest.mark.parametrize(
    "hooks",
    [
        "[tool.hatch.build.targets.wheel.hooks.custom]\n",
        pytest.param(
            '[tool.hatch.build.targets.wheel.hooks.custom]\ndependencies = ["text-unidecode"]\n',
            marks=pytest.mark.infra,
            id="isolated",
        ),
    ],
)
def test_a_failing_hook_is_named_with_its_error(tmp_path: Path, hooks: str) -> None:
    project = hook_project(tmp_path, hooks)
    with pytest.raises(KrustError) as info:
        build_wheel(project, tmp_path / "out", ENV)
    text = str(info.value)
    assert "failed in the build hook `custom`" in text
    assert "RuntimeError: the version file is missing: run make first" in text
    assert "Traceback" not in text  # the hook's own line and its error, not hatchling's stack
    assert len(text.splitlines()) <= 6


def test_an_unknown_hook_is_named(tmp_path: Path) -> None:
    project = hook_project(tmp_path, "[tool.hatch.build.targets.wheel.hooks.mypyc]\n")
    with pytest.raises(KrustError, match=r"failed in the build hook `mypyc`") as info:
        build_wheel(project, tmp_path / "out", ENV)
    assert "Unknown build hook: mypyc" in str(info.value)


def test_a_given_wheel_must_be_this_project_at_this_version(tmp_path: Path) -> None:
    project = write_project(tmp_path, name="given", scripts={"given": "given:main"})
    wheel = build_wheel(project, project / "dist", ENV)
    relative = f"dist/{wheel.name}"
    assert given_wheel(project, relative, "given", "0.1.0") == wheel
    assert given_wheel(project, relative, "Given", "0.1.0.0") == wheel
    with pytest.raises(ConfigError, match=r"a wheel of `given 0\.1\.0`, but the project is"):
        given_wheel(project, relative, "given", "0.2.0")
    with pytest.raises(ConfigError, match=r"a wheel of `given 0\.1\.0`, but the project is `other"):
        given_wheel(project, relative, "other", "0.1.0")
    with pytest.raises(ConfigError, match="is not a file"):
        given_wheel(project, "dist/missing.whl", "given", "0.1.0")
    (project / "dist" / "bad.whl").write_text("not a zip")
    with pytest.raises(ConfigError, match="not a readable wheel"):
        given_wheel(project, "dist/bad.whl", "given", "0.1.0")


@pytest.mark.infra
def test_a_hook_dependency_that_does_not_exist_is_named(tmp_path: Path) -> None:
    hooks = (
        "[tool.hatch.build.targets.wheel.hooks.custom]\n"
        'dependencies = ["no-such-package-for-krust-tests"]\n'
    )
    project = hook_project(tmp_path, hooks)
    with pytest.raises(KrustError) as info:
        build_wheel(project, tmp_path / "out", ENV)
    text = str(info.value)
    assert text.startswith("Building the project's wheel needs packages that could not be")
    assert "no-such-package-for-krust-tests was not found" in text
    assert "\n" not in text
