"""Bad input: one clear message, non-zero exit, no traceback, nothing in dist/krust/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project


def assert_clean_failure(
    result: subprocess.CompletedProcess[str], project: Path, *fragments: str
) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, output
    assert not (project / "dist" / "krust").exists(), list((project / "dist").rglob("*"))


def test_no_scripts(tmp_path: Path, cache_dir: Path) -> None:
    project = write_project(tmp_path, name="noscripts")
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert_clean_failure(result, project, "has no `[project.scripts]` entry")


def test_unknown_script_lists_the_available_ones(tmp_path: Path, cache_dir: Path) -> None:
    project = write_project(
        tmp_path,
        name="twoscripts",
        scripts={"b-cmd": "twoscripts:b", "a-cmd": "twoscripts:a"},
        krust='script = "c-cmd"',
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert_clean_failure(result, project, "names `c-cmd`", "Available scripts: `a-cmd`, `b-cmd`.")


def test_option_of_the_wrong_type(tmp_path: Path, cache_dir: Path) -> None:
    project = write_project(
        tmp_path, name="badopt", scripts={"badopt": "badopt:main"}, krust='compress = "yes"'
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert_clean_failure(
        result,
        project,
        "Field `tool.hatch.build.targets.krust.compress` must be a boolean (true or false), "
        "not a string",
    )


def test_environment_override_of_the_wrong_value(tmp_path: Path, cache_dir: Path) -> None:
    project = write_project(tmp_path, name="badenv", scripts={"badenv": "badenv:main"})
    result = hatchling_build(
        project, "krust:binary", build_env(cache_dir, KRUST_COMPRESS="sometimes")
    )
    assert_clean_failure(result, project, "Environment variable `KRUST_COMPRESS`")


def test_non_linux_host(tmp_path: Path, cache_dir: Path) -> None:
    """hatchling run with `sys.platform` as macOS reports it; the build refuses clearly."""
    project = write_project(tmp_path, name="mac", scripts={"mac": "mac:main"})
    code = (
        "import sys; sys.platform = 'darwin'; "
        "from hatchling.cli import hatchling; sys.exit(hatchling())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "build", "-t", "krust:binary"],
        cwd=project,
        env=build_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert_clean_failure(result, project, "must run on Linux", "'darwin'")


def test_missing_interpreter(tmp_path: Path, cache_dir: Path) -> None:
    project = write_project(
        tmp_path,
        name="nopython",
        scripts={"nopython": "nopython:main"},
        krust='python = "/opt/python9/bin/python9"',
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert_clean_failure(result, project, "`/opt/python9/bin/python9`", "was not found")


@pytest.mark.slow
def test_dependency_that_cannot_be_installed_is_named(tmp_path: Path, cache_dir: Path) -> None:
    missing = (tmp_path / "no-such-dir" / "ghostlib").as_uri()
    project = write_project(
        tmp_path,
        name="ghost",
        scripts={"ghost": "ghost:main"},
        dependencies=(f"ghostlib @ {missing}",),
        extra="[tool.hatch.metadata]\nallow-direct-references = true\n",
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert_clean_failure(result, project, "ghostlib")
