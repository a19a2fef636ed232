"""The project's environment as image files: third-party packages and the project, apart.

The image holds a virtual environment at `/app` whose home is the image's interpreter, so
the program runs exactly as from the project's venv: `sys.executable` is `/app/bin/python`,
packages read their own files, entry points are found. Which file belongs to whom comes
from the installed distributions' RECORD files; files no distribution lists (uv's
`_virtualenv.py`, `__pycache__`) are left out, and bytecode is compiled again for the image.
Console scripts are written anew with `#!/app/bin/python`; other scripts in `bin/` get
their `#!` line pointed there too. Native programs in `bin/` (a wheel's `.data/scripts`)
stay files with their source, so the plan scans them for shared libraries.
"""

from __future__ import annotations

import configparser
import csv
import email.parser
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from hatch_krust.errors import ImageError
from hatch_krust.oci.layer import Entry, bytes_entry, file_entry, link_entry

__all__ = ["APP_ROOT", "Distribution", "EnvironmentFiles", "split_environment", "venv_skeleton"]

APP_ROOT = "/app"
APP_PYTHON = f"{APP_ROOT}/bin/python"

_SCRIPT = """#!{python}
import sys
from {module} import {head}
if __name__ == "__main__":
    sys.exit({call}())
"""


@dataclass(frozen=True)
class Distribution:
    """An installed distribution, for the SBOM."""

    name: str
    version: str


@dataclass(frozen=True)
class EnvironmentFiles:
    """The environment split in two: everything but the project, and the project."""

    third_party: tuple[Entry, ...]
    project: tuple[Entry, ...]
    distributions: tuple[Distribution, ...]  # the third-party ones, then the project
    scripts: dict[str, str]  # console script name -> image path
    site_packages: str  # image path, where bytecode is compiled


def split_environment(venv: Path, project: str) -> EnvironmentFiles:
    """Lay out `venv` (the project's wheel and dependencies installed) under /app."""
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        message = f"{venv} is not a virtual environment with one site-packages directory."
        raise ImageError(message)
    site = found[0]
    wanted = canonicalize_name(project)
    third: list[Entry] = []
    own: list[Entry] = []
    dists: list[Distribution] = []
    scripts: dict[str, str] = {}
    for dist_info in sorted(site.glob("*.dist-info")):
        dist = _distribution(dist_info)
        is_project = canonicalize_name(dist.name) == wanted
        entries, names = _distribution_files(venv, site, dist_info)
        (own if is_project else third).extend(entries)
        dists.append(dist)
        scripts.update(names)
    if not any(canonicalize_name(d.name) == wanted for d in dists):
        message = f"The project `{project}` is not installed in {venv}; install its wheel first."
        raise ImageError(message)
    dists.sort(key=lambda d: (canonicalize_name(d.name) == wanted, d.name.lower()))
    image_site = _image_path(venv, site)
    return EnvironmentFiles(tuple(third), tuple(own), tuple(dists), scripts, image_site)


def venv_skeleton(python: str, version: str) -> list[Entry]:
    """pyvenv.cfg and bin/python links: /app is a venv whose home is the image's interpreter."""
    short = ".".join(version.split(".")[:2])
    home = str(PurePosixPath(python).parent)
    config = f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n"
    return [
        bytes_entry(f"{APP_ROOT}/pyvenv.cfg", config.encode(), 0o644),
        link_entry(APP_PYTHON, python),
        link_entry(f"{APP_ROOT}/bin/python3", "python"),
        link_entry(f"{APP_ROOT}/bin/python{short}", "python"),
        link_entry(f"{APP_ROOT}/lib64", "lib"),
    ]


def _distribution(dist_info: Path) -> Distribution:
    metadata = dist_info / "METADATA"
    if not metadata.is_file():
        message = f"{dist_info} has no METADATA; the environment is damaged, create it again."
        raise ImageError(message)
    headers = email.parser.HeaderParser().parsestr(metadata.read_text("utf-8", "replace"))
    return Distribution(str(headers["Name"]), str(headers["Version"]))


def _distribution_files(
    venv: Path, site: Path, dist_info: Path
) -> tuple[list[Entry], dict[str, str]]:
    """The files a distribution's RECORD lists, at image paths, and its console scripts."""
    record = dist_info / "RECORD"
    if not record.is_file():
        message = f"{dist_info} has no RECORD; cannot tell which files belong to it."
        raise ImageError(message)
    points = _entry_points(dist_info)
    entries: list[Entry] = []
    scripts: dict[str, str] = {}
    with record.open(encoding="utf-8", newline="") as stream:
        for row in csv.reader(stream):
            if not row or row[0].endswith(".pyc") or "__pycache__" in row[0]:
                continue
            path = Path(os.path.normpath(site / row[0]))
            if not path.is_relative_to(venv) or not path.is_file():
                continue
            image = _image_path(venv, path)
            if path.parent == venv / "bin":
                entry = _script_entry(image, path, points.get(path.name))
                scripts[path.name] = image
            else:
                entry = file_entry(image, path, 0o755 if os.access(path, os.X_OK) else 0o644)
            entries.append(entry)
    return entries, scripts


def _entry_points(dist_info: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    path = dist_info / "entry_points.txt"
    if path.is_file():
        parser.read(path, encoding="utf-8")
    points: dict[str, str] = {}
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            points.update({k.strip(): v.strip() for k, v in parser.items(section)})
    return points


def _script_entry(image: str, path: Path, point: str | None) -> Entry:
    with path.open("rb") as stream:
        if stream.read(4) == b"\x7fELF":  # a native program (.data/scripts): scanned
            return file_entry(image, path, 0o755)
    if point is not None:
        module, _, attribute = point.split("[", 1)[0].strip().partition(":")
        attribute = attribute.strip() or module.rsplit(".", 1)[-1]
        text = _SCRIPT.format(
            python=APP_PYTHON,
            module=module.strip(),
            head=attribute.split(".", 1)[0],
            call=attribute,
        )
        return bytes_entry(image, text.encode(), 0o755)
    data = path.read_bytes()
    first, newline, rest = data.partition(b"\n")
    if first.startswith(b"#!") and b"python" in first:
        data = f"#!{APP_PYTHON}".encode() + newline + rest
    return bytes_entry(image, data, 0o755)


def _image_path(venv: Path, path: Path) -> str:
    return str(PurePosixPath(APP_ROOT) / path.relative_to(venv))
