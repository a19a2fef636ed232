"""What a wheel installs at the top of site-packages: its importable packages and modules.

hatchling writes no top_level.txt, so RECORD (every wheel has it) is the source; top_level.txt
is used as well when present. PyInstaller needs these names to collect data files and
submodules that static analysis would miss.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["WheelContents", "read_wheel"]

_EXTENSION_SUFFIXES = (".so", ".pyd")


@dataclass(frozen=True)
class WheelContents:
    """Top-level import names: packages (directories) and single modules, each sorted."""

    packages: tuple[str, ...]
    modules: tuple[str, ...]


def read_wheel(wheel: Path) -> WheelContents:
    """Read the import names from the wheel's RECORD (and top_level.txt, when it has one)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            record = _member(archive, names, "RECORD")
            top_level = _member(archive, names, "top_level.txt")
    except (OSError, zipfile.BadZipFile) as exc:
        message = f"Cannot read the wheel {wheel}: {exc}"
        raise FreezeError(message) from exc
    paths = [row[0] for row in csv.reader(io.StringIO(record)) if row] if record else names
    packages, modules = _classify(paths)
    for name in (top_level or "").split():
        if name.isidentifier() and name not in modules:
            packages.add(name)
    return WheelContents(tuple(sorted(packages)), tuple(sorted(modules - packages)))


def _member(archive: zipfile.ZipFile, names: list[str], filename: str) -> str | None:
    for name in names:
        parts = name.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == filename:
            return archive.read(name).decode("utf-8")
    return None


def _classify(paths: list[str]) -> tuple[set[str], set[str]]:
    packages: set[str] = set()
    modules: set[str] = set()
    for raw in paths:
        parts = PurePosixPath(raw).parts
        if parts and parts[0].endswith(".data") and len(parts) > 2:
            if parts[1] not in ("purelib", "platlib"):
                continue
            parts = parts[2:]
        if not parts or parts[0].endswith(".dist-info"):
            continue
        if len(parts) > 1:
            if parts[0].isidentifier():
                packages.add(parts[0])
        elif parts[0].endswith(".py") or parts[0].endswith(_EXTENSION_SUFFIXES):
            name = parts[0].split(".", 1)[0]
            if name.isidentifier():
                modules.add(name)
    return packages, modules
