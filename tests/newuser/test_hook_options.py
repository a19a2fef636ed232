"""The wheel hook reads the options docs/configuration.md documents for
`[tool.hatch.build.targets.krust]`; before, it read only its own hook table, so a project
with `base-image = "scratch"` there had its hook pull cgr.dev/chainguard/static, and
`output-dir` (an option only the hook uses) was ignored where the docs show it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project


def hooked(tmp_path: Path, krust: str, hook: str) -> Path:
    return write_project(
        tmp_path,
        name="hooky",
        scripts={"hooky": "hooky:main"},
        files={"hooky/__init__.py": "def main():\n    print('hooky')\n"},
        krust=krust,
        extra=f"[tool.hatch.build.targets.wheel.hooks.krust]\n{hook}\n",
    )


@pytest.mark.slow
def test_the_hook_uses_the_krust_target_options(tmp_path: Path, cache_dir: Path) -> None:
    project = hooked(tmp_path, 'base-image = "scratch"\noutput-dir = "build/images"', "")
    result = hatchling_build(project, "wheel", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    assert "cgr.dev" not in result.stderr
    assert (project / "build" / "images" / "hooky-0.1.0.oci.tar").is_file()
    assert not (project / "dist" / "krust").exists()


@pytest.mark.slow
def test_the_hook_table_takes_precedence(tmp_path: Path, cache_dir: Path) -> None:
    project = hooked(
        tmp_path, 'base-image = "scratch"\noutput-dir = "build/images"', 'output-dir = "out"'
    )
    result = hatchling_build(project, "wheel", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    assert (project / "out" / "hooky-0.1.0.oci.tar").is_file()
    assert not (project / "build" / "images").exists()


def test_a_typo_in_the_target_table_is_named_there(tmp_path: Path, cache_dir: Path) -> None:
    project = hooked(tmp_path, 'base_image = "scratch"', "")
    result = hatchling_build(project, "wheel", build_env(cache_dir))
    assert result.returncode == 1
    assert "Field `tool.hatch.build.targets.krust.base_image` is not a hatch-krust option" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    log = (project / "dist" / "krust" / "hooky-0.1.0.hook.log").read_text()
    assert log.startswith("krust wheel hook: failed: Field `tool.hatch.build.targets.krust.")
    assert "base_image` is not a hatch-krust option" in log


@pytest.mark.slow
def test_a_wheel_built_from_an_sdist_warns_that_its_outputs_go_away(
    tmp_path: Path, cache_dir: Path
) -> None:
    """`python -m build` builds the wheel from the unpacked sdist in a temporary directory:
    the hook's `dist/krust` there is deleted with it, silently, before this warning."""
    project = hooked(tmp_path / "src", 'base-image = "scratch"', "")
    sdist = hatchling_build(project, "sdist", build_env(cache_dir))
    assert sdist.returncode == 0, sdist.stderr
    with tarfile.open(next((project / "dist").glob("*.tar.gz"))) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = next((tmp_path / "unpacked").iterdir())
    result = hatchling_build(unpacked, "wheel", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    assert "built from an unpacked sdist" in result.stderr
    assert "python -m build --wheel" in result.stderr

    keep = tmp_path / "kept"
    again = hatchling_build(unpacked, "wheel", build_env(cache_dir, KRUST_OUTPUT_DIR=str(keep)))
    assert again.returncode == 0, again.stderr
    assert "built from an unpacked sdist" not in again.stderr
    assert (keep / "hooky-0.1.0.oci.tar").is_file()
