"""The build's Python, probed once: its real path, version, identity and layout.

THE one probe of an interpreter. The build asks for it before anything else (a wrong
`python` fails in a second, not after the wheel build), puts `identity()` into the
executable cache key and hands the same value to the freezer, which creates the freeze
environment from it; the layered format reads the layout fields (prefix, standard
library, libpython) to copy the interpreter into the image.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import FreezeError
from hatch_krust.python.process import installer_env

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MIN_PYTHON", "Interpreter", "InterpreterLayout", "probe_interpreter"]

MIN_PYTHON = (3, 9)

_PROBE = """
import json, os, platform, sys, sysconfig
v = lambda name: sysconfig.get_config_var(name) or ""
real = os.path.realpath
print(json.dumps({
    "version": sys.version,
    "release": "%d.%d.%d" % sys.version_info[:3],
    "executable": sys.executable,
    "prefix": sys.base_prefix,
    "hexversion": sys.hexversion,
    "ldlibrary": sysconfig.get_config_var("LDLIBRARY"),
    "layout": {
        "version": platform.python_version(),
        "machine": platform.machine(),
        "prefix": real(sys.base_prefix),
        "executable": real(getattr(sys, "_base_executable", "") or sys.executable),
        "stdlib": real(sysconfig.get_path("stdlib")),
        "platstdlib": real(sysconfig.get_path("platstdlib")),
        "libdir": real(v("LIBDIR")) if v("LIBDIR") else "",
        "soname": v("INSTSONAME") if v("Py_ENABLE_SHARED") else "",
        "multiarch": v("MULTIARCH"),
    },
}))
"""
_FIELDS = {"version", "release", "executable", "prefix", "hexversion", "ldlibrary", "layout"}
_LAYOUT = {
    "version",
    "machine",
    "prefix",
    "executable",
    "stdlib",
    "platstdlib",
    "libdir",
    "soname",
    "multiarch",
}


@dataclass(frozen=True)
class InterpreterLayout:
    """Where the interpreter keeps its files (real paths, a venv's Python means its base):
    what a copy of it into an image needs."""

    version: str  # platform.python_version(): "3.11.7", "3.13.0rc1"
    machine: str  # "x86_64"
    prefix: Path  # sys.base_prefix, symlinks resolved
    executable: Path  # the base interpreter's binary, symlinks resolved
    stdlib: Path
    platstdlib: Path
    libdir: Path | None
    soname: str  # "libpython3.11.so.1.0", or "" for a statically linked libpython
    multiarch: str  # "x86_64-linux-gnu", or ""


@dataclass(frozen=True)
class Interpreter:
    """A probed interpreter. `binary` (size:mtime of the executable) changes when the same
    path is rebuilt, e.g. by pyenv, so a cached executable is not reused across it."""

    executable: Path  # sys.executable with symlinks resolved
    release: str  # "3.11.7"
    version: str  # sys.version: the release and how it was built
    prefix: str  # sys.base_prefix
    hexversion: int
    ldlibrary: str | None  # sysconfig's LDLIBRARY, e.g. libpython3.11.so.1.0
    binary: str
    layout: InterpreterLayout

    def identity(self) -> dict[str, Any]:
        """What identifies it in the executable cache key."""
        return {
            "version": self.version,
            "executable": str(self.executable),
            "prefix": self.prefix,
            "hexversion": self.hexversion,
            "ldlibrary": self.ldlibrary,
            "binary": self.binary,
        }


def probe_interpreter(python: str, env: Mapping[str, str]) -> Interpreter:
    """Find `python` (a path or a command on `env`'s PATH), run it once, check it is 3.9+."""
    found = python if os.sep in python else shutil.which(python, path=env.get("PATH", os.defpath))
    if not found or not Path(found).is_file():
        message = (
            f"The Python interpreter `{python}` to build with was not found (option `python` / "
            "`KRUST_PYTHON`). Give a path to a Python 3.9+ executable or a command on PATH "
            "(e.g. `python3.11`)."
        )
        raise FreezeError(message)
    info = _run_probe(python, found, env)
    if int(info["hexversion"]) < 0x03090000:
        message = (
            f"The Python interpreter `{python}` is Python {info['release']}; the build needs "
            "Python 3.9 or newer. Pick another interpreter."
        )
        raise FreezeError(message)
    real = Path(info["executable"]).resolve()
    stat = real.stat()
    return Interpreter(
        executable=real,
        release=str(info["release"]),
        version=str(info["version"]),
        prefix=str(info["prefix"]),
        hexversion=int(info["hexversion"]),
        ldlibrary=info["ldlibrary"],
        binary=f"{stat.st_size}:{int(stat.st_mtime)}",
        layout=_layout(info["layout"]),
    )


def _layout(data: dict[str, Any]) -> InterpreterLayout:
    return InterpreterLayout(
        version=str(data["version"]),
        machine=str(data["machine"]),
        prefix=Path(data["prefix"]),
        executable=Path(data["executable"]),
        stdlib=Path(data["stdlib"]),
        platstdlib=Path(data["platstdlib"]),
        libdir=Path(data["libdir"]) if data["libdir"] else None,
        soname=str(data["soname"]),
        multiarch=str(data["multiarch"]),
    )


def _run_probe(python: str, found: str, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [found, "-I", "-c", _PROBE],
            env=installer_env(env),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    except subprocess.CalledProcessError as exc:
        lines = [line.strip() for line in (exc.stderr or "").splitlines() if line.strip()]
        said = " … ".join(dict.fromkeys(lines[:1] + lines[-1:]))[:300]
        message = (
            f"The Python interpreter `{python}` (option `python` / `KRUST_PYTHON`) could not be "
            f"run as Python: exit status {exc.returncode}" + (f": {said}" if said else "")
        )
        raise FreezeError(message, output=exc.stderr or "") from None
    except (OSError, subprocess.SubprocessError) as exc:
        message = f"The Python interpreter `{python}` could not be run as Python: {exc}"
        raise FreezeError(message) from None
    try:
        info = json.loads(done.stdout)
        if not isinstance(info, dict) or set(info) != _FIELDS:
            raise ValueError
        if not isinstance(info["hexversion"], int) or not isinstance(info["executable"], str):
            raise ValueError
        if not isinstance(info["layout"], dict) or set(info["layout"]) != _LAYOUT:
            raise ValueError
    except ValueError:
        message = (
            f"The Python interpreter `{python}` does not look like a Python interpreter: "
            f"it printed {done.stdout.strip()[:80]!r}."
        )
        raise FreezeError(message) from None
    return info
