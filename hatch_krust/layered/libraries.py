"""The system libraries the interpreter and the extension modules need, found as the loader would.

Starting from the ELF files the image will hold, each `DT_NEEDED` name is looked up the
way glibc's loader does: the file's own RUNPATH (with `$ORIGIN`), then the host's
`ld.so.conf` directories and the loader's built-in directories. A name found among the
image's own files (libpython, a wheel's `.libs`) is not a system library. What is left is
copied into the image, together with the program interpreter named by `PT_INTERP`, and
named in the SBOM with the Debian package and version that installed it, when the host's
package database knows the file.

Libraries go into the loader's first directory under `/usr` (`/usr/lib/x86_64-linux-gnu`
on Debian) because the image has no `ld.so.cache`: the loader only searches its built-in
directories there, and `/usr/...` is a real directory in merged-`/usr` bases too.
`root` lets the same search run over another file system (a base's, or another
architecture's unpacked packages).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from hatch_krust.layered.elf import read_dynamic
from hatch_krust.oci.dpkg_status import installed, stanzas

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["DpkgDatabase", "LibraryScan", "SystemLibrary", "find_system_libraries"]

# Loaded by glibc with dlopen, never named in DT_NEEDED: thread cancellation needs it.
_DLOPENED = ("libgcc_s.so.1",)
_DEFAULT_DIRS = {
    "EM_X86_64": ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"),
    "EM_AARCH64": ("/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64"),
}


@dataclass(frozen=True)
class SystemLibrary:
    """A library (or the loader) copied from the host: where it goes and where it came from."""

    image_path: str
    source: Path
    package: str = ""  # e.g. "libc6:amd64", "" when no package database knows the file
    version: str = ""


@dataclass(frozen=True)
class LibraryScan:
    """The libraries to ship and what nothing could provide ("/opt/.../x.so needs liby.so.1")."""

    libraries: tuple[SystemLibrary, ...]
    missing: tuple[str, ...]


def find_system_libraries(
    files: Iterable[tuple[str, Path]], *, root: Path = Path("/"), machine: str = "EM_X86_64"
) -> LibraryScan:
    """Scan `files` ((image path, file) pairs of the image's ELF files) for what they need.

    A needed name that is the file name of one of `files` is the image's own (libpython,
    a wheel's bundled library): it is never looked up on the host.
    """
    files = list(files)
    provided = {PurePosixPath(image).name for image, _ in files}
    search = _search_dirs(root, machine)
    builtin = _DEFAULT_DIRS.get(machine, ())
    image_dir = next((d for d in builtin if d.startswith("/usr/")), "/usr/lib")
    dpkg = DpkgDatabase(root)
    found: dict[str, SystemLibrary] = {}
    missing: list[str] = []
    queue = [(image, source) for image, source in files]
    loaders: set[str] = set()
    while queue:
        label, source = queue.pop()
        info = read_dynamic(source)
        if info.interpreter:
            loaders.add(info.interpreter)
        for name in info.needed:
            if name in provided or name in found:
                continue  # the image's own (libpython, a wheel's .libs) or already found
            where = _resolve(name, source, info.runpath, search, root)
            if where is None:
                missing.append(f"{label} needs {name}")
            else:
                found[name] = dpkg.library(f"{image_dir}/{name}", where)
                queue.append((str(where), where))
    for name in _DLOPENED:
        where = _resolve(name, None, (), search, root)
        if found and where is not None and name not in found:
            found[name] = dpkg.library(f"{image_dir}/{name}", where)
    for loader in sorted(loaders):
        found.pop(loader.rsplit("/", 1)[-1], None)  # libc names the loader: it goes here
        host = root / loader.lstrip("/")
        if host.exists():
            found[loader] = dpkg.library(loader, host)
        else:
            missing.append(f"program interpreter: {loader}")
    libraries = tuple(sorted(found.values(), key=lambda lib: lib.image_path))
    return LibraryScan(libraries, tuple(sorted(set(missing))))


def _resolve(
    name: str, needer: Path | None, runpath: tuple[str, ...], search: list[str], root: Path
) -> Path | None:
    if "/" in name:
        candidate = root / name.lstrip("/")
        return candidate if candidate.exists() else None
    dirs = [_expand(entry, needer) for entry in runpath]
    for directory in [*dirs, *(str(root / d.lstrip("/")) for d in search)]:
        candidate = Path(directory) / name
        if candidate.is_file():
            return candidate
    return None


def _expand(entry: str, needer: Path | None) -> str:
    origin = str(needer.parent) if needer is not None else ""
    return entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)


def _search_dirs(root: Path, machine: str) -> list[str]:
    """ld.so.conf's directories (includes followed), then the loader's built-in ones."""
    dirs: list[str] = []
    _read_conf(root, root / "etc/ld.so.conf", dirs, depth=0)
    for default in (*_DEFAULT_DIRS.get(machine, ()), "/lib", "/usr/lib"):
        if default not in dirs:
            dirs.append(default)
    return [d for d in dirs if (root / d.lstrip("/")).is_dir()]


def _read_conf(root: Path, conf: Path, dirs: list[str], depth: int) -> None:
    if depth > 8 or not conf.is_file():
        return
    for raw in conf.read_text("utf-8", "replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("include "):
            pattern = line.split(None, 1)[1].lstrip("/")
            for included in sorted(root.glob(pattern)):
                _read_conf(root, included, dirs, depth + 1)
        elif line.startswith("/") and line not in dirs:
            dirs.append(line)


class DpkgDatabase:
    """Which Debian package installed a file, from /var/lib/dpkg under `root` (read once)."""

    def __init__(self, root: Path = Path("/")) -> None:
        self._root = root
        self._owners: dict[str, str] | None = None
        self._versions: dict[str, str] = {}

    def library(self, image_path: str, source: Path) -> SystemLibrary:
        package = self.owner(source)
        return SystemLibrary(image_path, source, package, self._versions.get(package, ""))

    def owner(self, path: Path) -> str:
        """The package ("libc6:amd64") that lists `path`, or its merged-/usr twin; "" if none."""
        owners = self._load()
        inside = "/" + str(path.relative_to(self._root)).lstrip("/")
        real = "/" + str(path.resolve().relative_to(self._root.resolve())).lstrip("/")
        for candidate in (inside, real, *_usrmerge_twins(inside), *_usrmerge_twins(real)):
            if candidate in owners:
                return owners[candidate]
        return ""

    def _load(self) -> dict[str, str]:
        if self._owners is None:
            info = self._root / "var/lib/dpkg/info"
            self._owners = {}
            for listing in sorted(info.glob("*.list")) if info.is_dir() else []:
                package = listing.name.removesuffix(".list")
                for line in listing.read_text("utf-8", "replace").splitlines():
                    self._owners.setdefault(line, package)
            self._versions = _installed_versions(self._root / "var/lib/dpkg/status")
        return self._owners


def _usrmerge_twins(path: str) -> list[str]:
    """/usr/lib/x -> /lib/x and back: packages list the path they shipped, not the merged one."""
    if path.startswith("/usr/"):
        return [path.removeprefix("/usr")]
    return ["/usr" + path]


def _installed_versions(status: Path) -> dict[str, str]:
    """{"libc6:amd64": "2.36-9+deb12u4", "libc6": ...} for installed packages."""
    versions: dict[str, str] = {}
    if not status.is_file():
        return versions
    for fields in stanzas(status.read_text("utf-8", "replace")):
        if not installed(fields) or "Package" not in fields:
            continue
        name, version = fields["Package"], fields.get("Version", "")
        versions[name] = version
        if fields.get("Architecture"):
            versions[f"{name}:{fields['Architecture']}"] = version
    return versions
