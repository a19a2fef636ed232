"""The one interpreter probe the build (cache key), the freezer (environment) and the layered
format (the interpreter copied into the image) share."""

from __future__ import annotations

import json
import os
import platform
import stat
import sys
import sysconfig
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.python import Interpreter, InterpreterLayout, probe_interpreter

PYTHON = sys.executable
ENV = dict(os.environ)


def fake_python(tmp_path: Path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_this_interpreter_is_described() -> None:
    found = probe_interpreter(PYTHON, ENV)
    assert isinstance(found, Interpreter)
    assert found.executable == Path(sys.executable).resolve()
    assert found.release == ".".join(map(str, sys.version_info[:3]))
    assert (found.version, found.hexversion) == (sys.version, sys.hexversion)
    real = Path(sys.executable).resolve().stat()
    assert found.binary == f"{real.st_size}:{int(real.st_mtime)}"


def test_identity_keeps_the_cache_key_fields() -> None:
    """The executable cache key was made of these six fields before the probe moved here."""
    identity = probe_interpreter(PYTHON, ENV).identity()
    fields = ["version", "executable", "prefix", "hexversion", "ldlibrary", "binary"]
    assert list(identity) == fields
    assert identity["prefix"] == sys.base_prefix
    json.dumps(identity)  # it goes into a JSON cache key


def test_the_layout_is_this_interpreters() -> None:
    """What the layered format copies into the image comes from the same probe."""
    layout = probe_interpreter(PYTHON, ENV).layout
    assert isinstance(layout, InterpreterLayout)
    assert layout.version == platform.python_version()
    assert layout.machine == platform.machine()
    assert layout.prefix == Path(os.path.realpath(sys.base_prefix))
    assert layout.stdlib == Path(os.path.realpath(sysconfig.get_path("stdlib")))
    assert layout.executable.is_relative_to(layout.prefix)
    shared = bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    assert layout.soname == (sysconfig.get_config_var("INSTSONAME") if shared else "")


def test_resolve_by_command_name() -> None:
    assert probe_interpreter(Path(PYTHON).name, ENV).executable.is_absolute()


def test_a_command_is_found_on_the_given_path_only(tmp_path: Path) -> None:
    """The command is looked up on the PATH of the environment given, not the process's."""
    (tmp_path / "krust-python").symlink_to(PYTHON)
    found = probe_interpreter("krust-python", {"PATH": str(tmp_path)})
    assert found.executable == Path(PYTHON).resolve()
    with pytest.raises(FreezeError, match="was not found"):
        probe_interpreter("krust-python", ENV)


def test_missing_interpreter() -> None:
    with pytest.raises(FreezeError) as caught:
        probe_interpreter("python2.99-nope", ENV)
    assert str(caught.value) == (
        "The Python interpreter `python2.99-nope` to build with was not found (option `python` "
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
        "layout": {
            "version": "3.8.18",
            "machine": "x86_64",
            "prefix": "/usr",
            "executable": "/usr/bin/python3.8",
            "stdlib": "/usr/lib/python3.8",
            "platstdlib": "/usr/lib/python3.8",
            "libdir": "/usr/lib",
            "soname": "",
            "multiarch": "x86_64-linux-gnu",
        },
    }
    old = fake_python(tmp_path, f"echo '{json.dumps(info)}'")
    with pytest.raises(FreezeError, match=r"is Python 3\.8\.18; the build needs Python 3\.9 or"):
        probe_interpreter(old, ENV)


def test_broken_interpreter(tmp_path: Path) -> None:
    broken = fake_python(tmp_path, "echo boom >&2; exit 1")
    with pytest.raises(FreezeError) as caught:
        probe_interpreter(broken, ENV)
    assert str(caught.value) == (
        f"The Python interpreter `{broken}` (option `python` / `KRUST_PYTHON`) could not be run "
        "as Python: exit status 1: boom"
    )
    assert "sysconfig" not in str(caught.value)  # not our probe's source


@pytest.mark.parametrize("printed", ["hello", "[1, 2]", '{"hexversion": "x"}'])
def test_not_python(tmp_path: Path, printed: str) -> None:
    with pytest.raises(FreezeError, match="does not look like a Python interpreter"):
        probe_interpreter(fake_python(tmp_path, f"echo '{printed}'"), ENV)


def test_a_directory_is_not_an_interpreter(tmp_path: Path) -> None:
    with pytest.raises(FreezeError, match="was not found"):
        probe_interpreter(str(tmp_path), ENV)
