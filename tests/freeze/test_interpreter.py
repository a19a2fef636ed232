"""The one interpreter probe the build (cache key) and the freezer (environment) share."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze import Interpreter, probe_interpreter

PYTHON = sys.executable


def fake_python(tmp_path: Path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_this_interpreter_is_described() -> None:
    found = probe_interpreter(PYTHON)
    assert isinstance(found, Interpreter)
    assert found.executable == Path(sys.executable).resolve()
    assert found.release == ".".join(map(str, sys.version_info[:3]))
    assert (found.version, found.hexversion) == (sys.version, sys.hexversion)
    real = Path(sys.executable).resolve().stat()
    assert found.binary == f"{real.st_size}:{int(real.st_mtime)}"


def test_identity_keeps_the_cache_key_fields() -> None:
    """The executable cache key was made of these six fields before the probe moved here."""
    identity = probe_interpreter(PYTHON).identity()
    fields = ["version", "executable", "prefix", "hexversion", "ldlibrary", "binary"]
    assert list(identity) == fields
    assert identity["prefix"] == sys.base_prefix
    json.dumps(identity)  # it goes into a JSON cache key


def test_resolve_by_command_name() -> None:
    assert probe_interpreter(Path(PYTHON).name).executable.is_absolute()


def test_missing_interpreter() -> None:
    with pytest.raises(FreezeError) as caught:
        probe_interpreter("python2.99-nope")
    assert str(caught.value) == (
        "The Python interpreter `python2.99-nope` to freeze with was not found (option `python` "
        "/ `KRUST_PYTHON`). Give a path to a Python 3.9+ executable or a command on PATH "
        "(e.g. `python3.11`)."
    )


def test_old_interpreter(tmp_path: Path) -> None:
    info = {
        "version": "3.8.18 (default)",
        "release": "3.8.18",
        "executable": "/usr/bin/python3.8",
        "prefix": "/usr",
        "hexversion": 0x030812F0,
        "ldlibrary": None,
    }
    old = fake_python(tmp_path, f"echo '{json.dumps(info)}'")
    with pytest.raises(FreezeError, match=r"is Python 3\.8\.18; freezing needs Python 3\.9 or"):
        probe_interpreter(old)


def test_broken_interpreter(tmp_path: Path) -> None:
    broken = fake_python(tmp_path, "echo boom >&2; exit 1")
    with pytest.raises(FreezeError) as caught:
        probe_interpreter(broken)
    assert str(caught.value) == (
        f"The Python interpreter `{broken}` (option `python` / `KRUST_PYTHON`) could not be run "
        "as Python: exit status 1: boom"
    )
    assert "sysconfig" not in str(caught.value)  # not our probe's source


@pytest.mark.parametrize("printed", ["hello", "[1, 2]", '{"hexversion": "x"}'])
def test_not_python(tmp_path: Path, printed: str) -> None:
    with pytest.raises(FreezeError, match="does not look like a Python interpreter"):
        probe_interpreter(fake_python(tmp_path, f"echo '{printed}'"))


def test_a_directory_is_not_an_interpreter(tmp_path: Path) -> None:
    with pytest.raises(FreezeError, match="was not found"):
        probe_interpreter(str(tmp_path))
