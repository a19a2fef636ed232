"""Issue 10's cases, built for real from tests/projects/ and run in an empty root:
a script whose entry point names an extra, a wheel build hook with its own dependencies,
and a CLI whose library loads its plugins through entry points."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, only_file
from tests.infra.runtime import run_in_chroot

pytestmark = [pytest.mark.infra, pytest.mark.slow, pytest.mark.runtime]

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def copy_project(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return target


def build(project: Path, cache_dir: Path, **env: str) -> Path:
    result = hatchling_build(project, "krust:binary", build_env(cache_dir, **env))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return only_file(project / "dist" / "krust")


def test_a_script_whose_entry_point_names_an_extra(tmp_path: Path, cache_dir: Path) -> None:
    exe = build(copy_project("extra-script", tmp_path), cache_dir)
    done = run_in_chroot(exe, ["made", "by", "krust"], tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "MadeByKrust"  # inflection, from the `words` extra


def test_an_unknown_extra_is_one_clear_error(tmp_path: Path, cache_dir: Path) -> None:
    project = copy_project("extra-script", tmp_path)
    result = hatchling_build(project, "krust:binary", build_env(cache_dir, KRUST_EXTRAS="word"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "`KRUST_EXTRAS` asks for the extra `word`" in result.stderr
    assert "`words`" in result.stderr


def test_a_wheel_hook_with_its_own_dependencies(tmp_path: Path, cache_dir: Path) -> None:
    exe = build(copy_project("hook-deps", tmp_path), cache_dir)
    done = run_in_chroot(exe, [], tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hook says: generee au moment du build"


def test_plugins_of_a_dependency_are_bundled(tmp_path: Path, cache_dir: Path) -> None:
    exe = build(copy_project("plugin-cli", tmp_path), cache_dir)
    done = run_in_chroot(exe, [], tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["english: Hello, krust!", "french: Bonjour, krust !"]


def test_a_given_wheel_is_frozen_and_recorded_byte_for_byte(
    tmp_path: Path, cache_dir: Path
) -> None:
    """`wheel = "dist/…whl"`: the provenance names that file and its bytes' SHA-256."""
    project = copy_project("extra-script", tmp_path)
    env = build_env(cache_dir, SOURCE_DATE_EPOCH="1234567890")  # not the build's epoch
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", "released"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = (project / "released").glob("*.whl")
    env = build_env(
        cache_dir,
        KRUST_WHEEL=f"released/{wheel.name}",
        KRUST_BASE_IMAGE="scratch",
        KRUST_FORMAT="static",
    )
    result = hatchling_build(project, "krust", env)
    assert result.returncode == 0, result.stderr
    assert "Building the wheel" not in result.stderr
    (provenance,) = (project / "dist" / "krust").glob("*.provenance.json")
    deps = json.loads(provenance.read_text())["predicate"]["buildDefinition"]
    recorded = next(d for d in deps["resolvedDependencies"] if d.get("name") == wheel.name)
    assert recorded["digest"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_a_given_wheel_of_another_version_is_refused(tmp_path: Path, cache_dir: Path) -> None:
    project = copy_project("extra-script", tmp_path)
    wheel = project / "extra_script-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "extra_script-0.2.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: extra-script\nVersion: 0.2.0\n",
        )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir, KRUST_WHEEL=wheel.name))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "a wheel of `extra-script 0.2.0`, but the project is `extra-script 0.3.0`" in (
        result.stderr
    )
