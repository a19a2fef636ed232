"""Mistakes a new user makes: one clear line on stderr, exit status 1, no traceback and
nothing left in dist/krust."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project

STATIC = 'format = "static"\nbase-image = "scratch"'
CASES = {
    "arm64-on-amd64": (  # the static format (the layered one cross-builds on a Python base)
        {"KRUST_PLATFORMS": "linux/arm64"},
        STATIC,
        "Environment variable `KRUST_PLATFORMS` asks for linux/arm64, but this host can only "
        "build linux/amd64: PyInstaller does not cross-build",
    ),
    "ko-platforms-all": (
        {"KRUST_PLATFORMS": "all"},
        STATIC,
        "Environment variable `KRUST_PLATFORMS` asks for `all` platforms, but this host can "
        "build only linux/amd64",
    ),
    "camel-case-option": ({}, 'baseImage = "scratch"', "did you mean `base-image`?"),
    "tag-typo": ({"KRUST_TAGS": "{verison}"}, "", "unknown field in tag '{verison}'"),
    "repo-upper-case": (
        {"KRUST_REPO": "Registry.Example/Team"},
        "",
        # the value as the user wrote it, not the internal `/{name}` template
        "`KRUST_REPO` is not a valid repository name: 'Registry.Example/Team';",
    ),
    "option-typo": ({}, 'base_image = "scratch"', "did you mean `base-image`?"),
    # checked with the configuration (it used to come after the freeze, named as the field)
    "ca-missing": (
        {"KRUST_CA_CERTIFICATES": "/nonexistent.pem"},
        "",
        "`KRUST_CA_CERTIFICATES` names '/nonexistent.pem', which is not a file",
    ),
    "no-python2": ({"KRUST_PYTHON": "/nonexistent/python2"}, "", "`/nonexistent/python2`"),
    # was pulled as docker.io/library/scrach: a DNS or 401 error from Docker Hub
    "scratch-typo": (
        {},
        'base-image = "scrach"',
        "Field `tool.hatch.build.targets.krust.base-image` is 'scrach', which would be pulled "
        "as docker.io/library/scrach; did you mean `scratch`?",
    ),
    "scratch-typo-env": ({"KRUST_BASE_IMAGE": "Scratch"}, "", "did you mean `scratch`?"),
}


def test_an_interpreter_that_fails_says_why(tmp_path: Path, cache_dir: Path) -> None:
    """It used to print Python's `Command '[…the probe…]' returned non-zero exit status 3`."""
    fake = tmp_path / "python-broken"
    fake.write_text("#!/bin/sh\necho 'boom: broken interpreter' >&2\nexit 3\n")
    fake.chmod(0o755)
    project = write_project(
        tmp_path,
        name="oops",
        scripts={"oops": "oops:main"},
        krust='format = "static"\nbase-image = "scratch"',
    )
    result = hatchling_build(project, "krust", build_env(cache_dir, KRUST_PYTHON=str(fake)))
    assert result.returncode == 1
    assert "could not be run as Python: exit status 3: boom: broken interpreter" in result.stderr
    assert "sysconfig" not in result.stderr
    assert not (project / "dist" / "krust").exists()


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
    assert "Building the wheel" not in result.stderr  # found before any work is done
    assert expected in result.stderr
    assert "{name}" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "dist" / "krust").exists()


def test_a_misspelt_variable_is_named_not_ignored(tmp_path: Path, cache_dir: Path) -> None:
    """`KRUST_FROMAT=layered` changed nothing, without a word; the build then failed on the
    static format's platform check, which the user meant to leave."""
    project = write_project(
        tmp_path,
        name="oops",
        scripts={"oops": "oops:main"},
        files={"oops/__init__.py": "def main():\n    print('oops')\n"},
        krust=STATIC,
    )
    env = build_env(cache_dir, KRUST_FROMAT="layered", KRUST_PLATFORMS="linux/arm64")
    result = hatchling_build(project, "krust", env)
    assert result.returncode == 1, result.stderr
    warning = (
        "Warning: environment variable `KRUST_FROMAT` is not a hatch-krust setting and is "
        "ignored: did you mean `KRUST_FORMAT`?"
    )
    assert warning in result.stderr
    assert result.stderr.index(warning) < result.stderr.index("PyInstaller does not cross-build")
