"""What a minimal root lacks that programs expect: a UTF-8 locale and the time zone database.

On `scratch` (or distroless-static) a program that checks for a UTF-8 locale, or calls
`setlocale(LC_ALL, "")`, fails: no `LANG` is set and the C library finds no locale files.
`zoneinfo` finds no zone either when no `tzdata` is installed. Both formats run the build
host's C library (the layered image ships it; staticx packs it into the executable), so
both get the same fix, only where the base lacks it:

- `LANG=C.UTF-8` when neither the base nor the `env` option sets `LANG`, `LC_ALL` or
  `LC_CTYPE`, with the host C library's `C.utf8` locale files (glibc reads them from
  /usr/lib/locale; since 2.35 glibc knows C.UTF-8 but still needs them installed);
- the host's zone database (`/usr/share/zoneinfo`, without its `posix/` and `right/`
  copies) in a layer of its own, when the base has none and the program's environment has
  no `tzdata` (option `zoneinfo`); the SBOM names it with its Debian package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.oci.layer import Entry, file_entry

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hatch_krust.oci.basefs import BaseFiles
    from hatch_krust.oci.layer import Layer

__all__ = [
    "HOST_LOCALE",
    "HOST_ZONEINFO",
    "LOCALE_VARS",
    "RootFiles",
    "locale_entries",
    "root_files",
    "sets_locale",
    "tree_entries",
    "zoneinfo_component",
    "zoneinfo_entries",
]

LOCALE_VARS = ("LANG", "LC_ALL", "LC_CTYPE")
DEFAULT_LANG = "C.UTF-8"
HOST_LOCALE = Path("/usr/lib/locale/C.utf8")
HOST_ZONEINFO = Path("/usr/share/zoneinfo")
_ZONEINFO_SKIPPED = frozenset({"posix", "right"})  # copies of the same zones


@dataclass(frozen=True)
class RootFiles:
    """What to add to an image: files for the runtime layer, a zone layer, env to set."""

    locale: tuple[Entry, ...]
    zoneinfo: tuple[Entry, ...]
    env: tuple[tuple[str, str], ...]


def sets_locale(base_env: Iterable[str], env: Mapping[str, str]) -> bool:
    """True when the base's environment or the `env` option names a locale."""
    names = {item.partition("=")[0] for item in base_env} | set(env)
    return any(name in names for name in LOCALE_VARS)


def tree_entries(
    source: Path, image_dir: str, skipped: frozenset[str] = frozenset()
) -> list[Entry]:
    """Every regular file under `source` (links followed) at `image_dir`, sorted, 0644."""
    entries: list[Entry] = []
    for root, dirs, files in os.walk(source, followlinks=True):
        relative = Path(root).relative_to(source)
        dirs[:] = sorted(d for d in dirs if not (relative == Path() and d in skipped))
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file():
                image = f"{image_dir}/{(relative / name).as_posix()}"
                entries.append(file_entry(image, path.resolve(), 0o644))
    return entries


def locale_entries(files: BaseFiles, host: Path = HOST_LOCALE) -> list[Entry]:
    """The host C library's C.UTF-8 locale files, unless the base has that locale."""
    image_dir = "/usr/lib/locale/C.utf8"
    if files.has(image_dir) or not host.is_dir():
        return []
    return tree_entries(host, image_dir)


def zoneinfo_entries(files: BaseFiles, host: Path = HOST_ZONEINFO) -> list[Entry]:
    """The host's zone database, unless the base has one."""
    image_dir = "/usr/share/zoneinfo"
    if files.has(image_dir) or not host.is_dir():
        return []
    return tree_entries(host, image_dir, _ZONEINFO_SKIPPED)


def root_files(
    files: BaseFiles,
    base_env: Iterable[str],
    env: Mapping[str, str],
    *,
    locale: bool,
    zoneinfo: bool,
) -> RootFiles:
    """The locale files (and `LANG`) and the zones this base lacks, each when asked for."""
    locale_files: list[Entry] = []
    extra_env: tuple[tuple[str, str], ...] = ()
    if locale and not sets_locale(base_env, env):
        locale_files = locale_entries(files)
        extra_env = (("LANG", DEFAULT_LANG),)
    zones = zoneinfo_entries(files) if zoneinfo else []
    return RootFiles(tuple(locale_files), tuple(zones), extra_env)


def zoneinfo_component(layer: Layer) -> dict[str, Any]:
    """The zone database as the SBOM names it: its path, the layer's digest, its origin."""
    return {
        "name": "zoneinfo",
        "path": "/usr/share/zoneinfo",
        "sha256": layer.diff_id.removeprefix("sha256:"),
        "bundled_by": "runtime-files",
    }
