"""Credential lookup where there is no home directory: a static `hatch-krust` in an empty
root has neither $HOME nor a passwd entry, and must still push anonymously."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatch_krust.registry.credentials import auth_files


def _no_home() -> Path:
    raise RuntimeError("Could not determine home directory.")


def test_no_home_skips_the_files_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", staticmethod(_no_home))
    files = auth_files({})
    assert files, "the system-wide podman file is still looked for"
    assert all(".docker" not in str(f) and ".config" not in str(f) for f in files)


def test_explicit_places_still_count_without_a_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", staticmethod(_no_home))
    files = auth_files({"DOCKER_CONFIG": "/d", "XDG_CONFIG_HOME": "/x"})
    assert Path("/d/config.json") in files
    assert Path("/x/containers/auth.json") in files


def test_home_from_the_environment_comes_first() -> None:
    files = auth_files({"HOME": "/h"})
    assert Path("/h/.docker/config.json") in files
    assert Path("/h/.config/containers/auth.json") in files
