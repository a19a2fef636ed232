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
  no `tzdata` (option `zoneinfo`); the SBOM names it, with the Debian package (`tzdata`)
  and version when the host's dpkg database lists those files as that package's; the
  layer then also holds that package's dpkg stanza (`/var/lib/dpkg/status.d/tzdata`), so
  scanners find what the SBOM names.

Both are read below a root (`/`, the build host's; a test gives its own), so the files and
the package that names them come from the same place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.oci.dpkg_status import installed, stanzas
from hatch_krust.oci.layer import Entry, bytes_entry, file_entry

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hatch_krust.oci.basefs import BaseFiles
    from hatch_krust.oci.layer import Layer

__all__ = [
    "DPKG_STATUS_DIR",
    "HOST_LOCALE",
    "HOST_ROOT",
    "HOST_ZONEINFO",
    "LOCALE_VARS",
    "RUNTIME_FILES",
    "RootFiles",
    "dpkg_owner",
    "dpkg_stanza",
    "locale_entries",
    "root_files",
    "sets_locale",
    "tree_entries",
    "zoneinfo_component",
    "zoneinfo_entries",
]

LOCALE_VARS = ("LANG", "LC_ALL", "LC_CTYPE")
DEFAULT_LANG = "C.UTF-8"
HOST_ROOT = Path("/")
LOCALE_DIR = "/usr/lib/locale/C.utf8"
ZONEINFO_DIR = "/usr/share/zoneinfo"
HOST_LOCALE = HOST_ROOT / LOCALE_DIR.lstrip("/")
HOST_ZONEINFO = HOST_ROOT / ZONEINFO_DIR.lstrip("/")
RUNTIME_FILES = "runtime-files"  # `bundled_by` of what assembling adds (the SBOM's word)
TZDATA = "tzdata"  # the Debian package of the zone database
DPKG_STATUS_DIR = "/var/lib/dpkg/status.d"  # one stanza a package, as distroless images
_ZONEINFO_SKIPPED = frozenset({"posix", "right"})  # copies of the same zones


@dataclass(frozen=True)
class RootFiles:
    """What to add to an image: files for the runtime layer, a zone layer, env to set."""

    locale: tuple[Entry, ...]
    zoneinfo: tuple[Entry, ...]
    env: tuple[tuple[str, str], ...]
    zone_package: dict[str, str] | None = None  # the Debian package the zones came from


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
    if files.has(LOCALE_DIR) or not host.is_dir():
        return []
    return tree_entries(host, LOCALE_DIR)


def zoneinfo_entries(files: BaseFiles, host: Path = HOST_ZONEINFO) -> list[Entry]:
    """The host's zone database, unless the base has one."""
    if files.has(ZONEINFO_DIR) or not host.is_dir():
        return []
    return tree_entries(host, ZONEINFO_DIR, _ZONEINFO_SKIPPED)


def root_files(
    files: BaseFiles,
    base_env: Iterable[str],
    env: Mapping[str, str],
    *,
    locale: bool,
    zoneinfo: bool,
    root: Path = HOST_ROOT,
) -> RootFiles:
    """The locale files (and `LANG`) and the zones this base lacks, each when asked for,
    from below `root`."""
    locale_files: list[Entry] = []
    extra_env: tuple[tuple[str, str], ...] = ()
    if locale and not sets_locale(base_env, env):
        locale_files = locale_entries(files, root / LOCALE_DIR.lstrip("/"))
        extra_env = (("LANG", DEFAULT_LANG),)
    zones = zoneinfo_entries(files, root / ZONEINFO_DIR.lstrip("/")) if zoneinfo else []
    package = dpkg_owner(root, TZDATA, ZONEINFO_DIR) if zones else None
    if package is not None:  # for scanners, in the zone layer: the package with its files
        stanza = dpkg_stanza(package).encode("utf-8")
        zones.append(bytes_entry(f"{DPKG_STATUS_DIR}/{TZDATA}", stanza, 0o644))
    return RootFiles(tuple(locale_files), tuple(zones), extra_env, package)


def zoneinfo_component(layer: Layer, debian: dict[str, str] | None = None) -> dict[str, Any]:
    """The zone database as the SBOM names it: its path, the layer's digest, its origin,
    and the Debian package that installed it (`RootFiles.zone_package`)."""
    component: dict[str, Any] = {
        "name": "zoneinfo",
        "path": ZONEINFO_DIR,
        "sha256": layer.diff_id.removeprefix("sha256:"),
        "bundled_by": RUNTIME_FILES,
    }
    if debian is not None:
        component["debian"] = dict(debian)
    return component


def dpkg_stanza(package: Mapping[str, str]) -> str:
    """A dpkg status stanza (package, version, architecture, source) as dpkg writes one."""
    source = package.get("source", "")
    fields = [
        ("Package", package["package"]),
        ("Status", "install ok installed"),
        ("Source", source if source != package["package"] else ""),  # as dpkg does
        ("Version", package["version"]),
        ("Architecture", package.get("architecture", "")),
    ]
    return "".join(f"{key}: {value}\n" for key, value in fields if value)


def dpkg_owner(root: Path, package: str, path: str) -> dict[str, str] | None:
    """{package, version, architecture, source} of `package` when the dpkg database below
    `root` has it installed and its file list names `path`; else None."""
    info = root / "var/lib/dpkg/info"
    lists = [info / f"{package}.list", *sorted(info.glob(f"{package}:*.list"))]
    if not any(_lists_path(listing, path) for listing in lists):
        return None
    status = root / "var/lib/dpkg/status"
    text = status.read_text("utf-8", "replace") if status.is_file() else ""
    for fields in stanzas(text):
        if fields.get("Package") == package and installed(fields) and fields.get("Version"):
            source = fields.get("Source", "").split(" ", 1)[0]
            return {
                "package": package,
                "version": fields["Version"],
                "architecture": fields.get("Architecture", ""),
                "source": source,
            }
    return None


def _lists_path(listing: Path, path: str) -> bool:
    if not listing.is_file():
        return False
    return path in listing.read_text("utf-8", "replace").splitlines()
