"""Mistakes a new user makes: one clear line on stderr, exit status 1, no traceback and
nothing left in dist/krust."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project

CASES = {
    "arm64-on-amd64": ({"KRUST_PLATFORMS": "linux/arm64"}, "", "PyInstaller does not cross-build"),
    "tag-typo": ({"KRUST_TAGS": "{verison}"}, "", "unknown field in tag '{verison}'"),
    "repo-upper-case": (
        {"KRUST_REPO": "Registry.Example/Team"},
        "",
        # the value as the user wrote it, not the internal `/{name}` template
        "`KRUST_REPO` is not a valid repository name: 'Registry.Example/Team';",
    ),
    "option-typo": ({}, 'base_image = "scratch"', "did you mean `base-image`?"),
    "no-python2": ({"KRUST_PYTHON": "/nonexistent/python2"}, "", "`/nonexistent/python2`"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_message(case: str, tmp_path: Path, cache_dir: Path) -> None:
    env, krust, expected = CASES[case]
    project = write_project(
        tmp_path,
        name="oops",
        scripts={"oops": "oops:main"},
        files={"oops/__init__.py": "def main():\n    print('oops')\n"},
        krust=krust or 'base-image = "scratch"',
    )
    result = hatchling_build(project, "krust", build_env(cache_dir, **env))
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr
    assert "{name}" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "dist" / "krust").exists()
