"""The project's wheel as the project builds it: build hooks, their dependencies, failures,
and a wheel given by the `wheel` option."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from hatch_krust.errors import ConfigError, KrustError
from hatch_krust.python.wheel_build import (
    HATCHLING_VARIABLES,
    build_wheel,
    given_wheel,
    inner_build_running,
)
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


def test_a_project_needing_nothing_more_is_built_with_hatchling(tmp_path: Path) -> None:
    project = write_project(tmp_path, name="plain", scripts={"plain": "plain:main"})
    said: list[str] = []
    wheel = build_wheel(project, tmp_path / "out", ENV, said.append)
    assert said == ["Building the wheel with hatchling"]
    assert wheel.name == "plain-0.1.0-py3-none-any.whl"


SEEING_HOOK = """
import json, os
from pathlib import Path
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


from hatch_krust.python.wheel_build import inner_build_running


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        names = ("HATCH_KRUST_INNER_WHEEL", "KRUST_TEST_GIVEN", "SOURCE_DATE_EPOCH")
        seen = {name: os.environ.get(name) for name in names}
        seen["inner_build_running"] = inner_build_running()
        Path(self.root, "seen.json").write_text(json.dumps(seen))
"""


def seeing_project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        name="seeing",
        scripts={"seeing": "seeing:main"},
        files={"hatch_build.py": SEEING_HOOK},
        extra="[tool.hatch.build.targets.wheel.hooks.custom]\n",
    )


def test_the_build_gets_the_environment_given_and_leaves_the_processs_alone(
    tmp_path: Path,
) -> None:
    """`env` sets a variable hatchling reads itself: hatchling runs in a child of this
    interpreter, and it, its hooks and the wheel's file times see `env`, and only `env`;
    the process's environment is neither read for the build nor changed by it."""
    project = seeing_project(tmp_path)
    before = dict(os.environ)
    given = {**os.environ, "KRUST_TEST_GIVEN": "yes", "SOURCE_DATE_EPOCH": "1700000000"}
    wheel = build_wheel(project, tmp_path / "out", given)
    assert dict(os.environ) == before
    seen = json.loads((project / "seen.json").read_text())
    assert seen == {
        "HATCH_KRUST_INNER_WHEEL": "1",  # our own wheel hook stays out of the build
        "KRUST_TEST_GIVEN": "yes",
        "SOURCE_DATE_EPOCH": "1700000000",
        "inner_build_running": False,
    }
    with zipfile.ZipFile(wheel) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


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


def test_a_failing_hook_in_the_child_build_is_named_the_same_way(tmp_path: Path) -> None:
    """With SOURCE_DATE_EPOCH in `env`, hatchling runs in a child: same one clear error."""
    project = hook_project(tmp_path, "[tool.hatch.build.targets.wheel.hooks.custom]\n")
    with pytest.raises(KrustError) as info:
        build_wheel(project, tmp_path / "out", {**ENV, "SOURCE_DATE_EPOCH": "1700000000"})
    text = str(info.value)
    assert "Building the project's wheel (hatchling) failed in the build hook `custom`" in text
    assert "RuntimeError: the version file is missing: run make first" in text
    assert "Traceback" not in text
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


def test_in_this_process_our_hook_is_kept_out_without_touching_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`env` sets none of hatchling's variables: the build runs in this process, which
    marks it for our wheel hook (`inner_build_running`) instead of writing os.environ."""
    project = seeing_project(tmp_path)
    for name in [k for k in os.environ if k.startswith(HATCHLING_VARIABLES)]:
        monkeypatch.delenv(name)  # the process agrees with `env`, as at the entry points
    given = dict(os.environ)
    said: list[str] = []
    build_wheel(project, tmp_path / "out", given, said.append)
    assert said == ["Building the wheel with hatchling"]
    seen = json.loads((project / "seen.json").read_text())
    assert seen == {
        "HATCH_KRUST_INNER_WHEEL": None,
        "KRUST_TEST_GIVEN": None,
        "SOURCE_DATE_EPOCH": None,
        "inner_build_running": True,
    }
    assert not inner_build_running()
    assert dict(os.environ) == given


def _without_hatchling_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith(HATCHLING_VARIABLES)]:
        monkeypatch.delenv(name)


def test_a_process_agreeing_with_env_builds_here_with_source_date_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry point passes the process's own environment: when it sets SOURCE_DATE_EPOCH
    as `env` does, hatchling (which reads it from the process) runs in this process, without
    a child's start-up, and the wheel's file times still follow `env`."""
    project = seeing_project(tmp_path)
    _without_hatchling_variables(monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    wheel = build_wheel(project, tmp_path / "out", dict(os.environ), process_env=os.environ)
    seen = json.loads((project / "seen.json").read_text())
    assert seen["inner_build_running"] is True
    assert seen["HATCH_KRUST_INNER_WHEEL"] is None
    with zipfile.ZipFile(wheel) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


@pytest.mark.parametrize(
    ("in_process", "in_env"),
    [("1600000000", "1700000000"), ("1600000000", None), (None, "1700000000")],
    ids=["other-value", "only-the-process", "only-env"],
)
def test_a_process_disagreeing_with_env_builds_in_a_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_process: str | None, in_env: str | None
) -> None:
    """hatchling's variables differ between the process and `env`: the child gets `env`."""
    project = seeing_project(tmp_path)
    _without_hatchling_variables(monkeypatch)
    if in_process is not None:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", in_process)
    given = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    if in_env is not None:
        given["SOURCE_DATE_EPOCH"] = in_env
    build_wheel(project, tmp_path / "out", given, process_env=os.environ)
    seen = json.loads((project / "seen.json").read_text())
    assert seen["inner_build_running"] is False
    assert seen["HATCH_KRUST_INNER_WHEEL"] == "1"
    assert seen["SOURCE_DATE_EPOCH"] == in_env
