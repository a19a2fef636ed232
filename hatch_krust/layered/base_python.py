"""The base image's own Python, read from its layers and config alone: never run.

A multi-platform build cannot run an arm64 interpreter on an amd64 machine (not without
emulation, which is what this replaces), so everything is read from files: the
interpreter's path (`/usr/local/bin/python3.X` as in the official images, `/usr/bin/
python3.X` as in Debian, distroless and Wolfi), its ELF header (the architecture), the C
library (glibc's newest `GLIBC_2.N` symbol version, or musl's loader), the version (the
official images' `PYTHON_VERSION`, else the package database, else the version string in
the binary), and the package that installed it (dpkg's `status`/`status.d`, apk's
`installed`) for the SBOM. From these follow the wheel tags the interpreter accepts.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection

from hatch_krust.errors import ConfigError, ImageError
from hatch_krust.oci.basefs import list_layer
from hatch_krust.oci.dpkg_status import installed, stanzas

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout

__all__ = ["BasePackage", "BasePython", "BaseTree", "choose_python", "read_tree"]

_INTERPRETER = re.compile(r"^(usr/local/bin|usr/bin|bin)/python3\.(\d+)(t?)$")
_ALIAS = re.compile(r"^(usr/local/bin|usr/bin|bin)/python3?$")
_LIBC = re.compile(r"^(usr/)?lib(64)?/([a-z0-9_]+-linux-gnu[a-z]*/)?libc\.so\.6$")
_MUSL = re.compile(r"^(usr/)?lib/ld-musl-[a-z0-9_]+\.so\.1$")
_LIBPYTHON = re.compile(r"^(usr/local/lib|usr/lib(/[a-z0-9_-]+)?)/libpython3\.\d+t?\.so\.1\.0$")
_DPKG = re.compile(r"^var/lib/dpkg/(status|status\.d/[^/]+)$")
_APKS = ("lib/apk/db/installed", "usr/lib/apk/db/installed")  # Wolfi: /lib -> usr/lib
_MACHINES = {
    "EM_X86_64": "x86_64",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "armv7l",
    "EM_PPC64": "ppc64le",
    "EM_S390": "s390x",
    "EM_RISCV": "riscv64",
    "EM_386": "i686",
}
# The manylinux levels uv's `--python-platform` knows (it has no 2_18..2_27, 2_29, 2_30).
_UV_GLIBC = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)


@dataclass(frozen=True)
class BasePackage:
    """The distribution package that installed the base's Python (for the SBOM)."""

    kind: str  # "debian" or "apk"
    name: str
    version: str
    architecture: str = ""


@dataclass(frozen=True)
class BasePython:
    """The base's interpreter as a wheel installer and the SBOM need to know it."""

    executable: str  # image path, "/usr/bin/python3.11"
    version: str  # "3.11.2" (or "3.11" when nothing says more)
    machine: str  # "x86_64", "aarch64"
    libc: str  # "glibc" or "musl"
    libc_version: tuple[int, int]
    free_threaded: bool = False
    package: BasePackage | None = None

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def abi(self) -> str:
        return "cp" + self.minor.replace(".", "") + ("t" if self.free_threaded else "")

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """The platform tags of the wheels this interpreter accepts, best first."""
        major, minor = self.libc_version
        kind = "manylinux" if self.libc == "glibc" else "musllinux"
        low = 17 if kind == "manylinux" else 1
        return tuple(f"{kind}_{major}_{n}_{self.machine}" for n in range(minor, low - 1, -1))

    @property
    def uv_platform(self) -> str:
        """The `uv pip install --python-platform` value that matches these tags."""
        if self.machine not in ("x86_64", "aarch64"):
            message = (
                f"The base's Python is for {self.machine}; uv installs wheels for another "
                "machine only for x86_64 and aarch64. Build this platform on a machine of "
                "its architecture and join the images with `hatch-krust merge DST SRC...`"
            )
            raise ConfigError(message)
        if self.libc == "musl":
            return f"{self.machine}-unknown-linux-musl"
        level = max((n for n in _UV_GLIBC if n <= self.libc_version[1]), default=0)
        if not level:
            message = f"The base's glibc {self.libc_version} is older than manylinux2014 (2.17)"
            raise ImageError(message)
        return f"{self.machine}-manylinux_2_{level}"


@dataclass(frozen=True)
class BaseTree:
    """What the base's final tree says about Python: candidate files and package records."""

    files: dict[str, bytes]  # wanted regular files: path -> content
    links: dict[str, str]  # symlinks among the wanted paths: path -> target
    env: tuple[str, ...]  # the config's Env

    def resolve(self, path: str) -> str:
        """Follow symlinks among the wanted paths (a few hops at most)."""
        for _ in range(8):
            target = self.links.get(path)
            if target is None:
                return path
            joined = target if target.startswith("/") else f"{PurePosixPath(path).parent}/{target}"
            path = str(PurePosixPath("/", joined)).strip("/")
            path = _normal(path)
        return path


def read_tree(layout: Layout, layers: Iterable[Descriptor], env: Iterable[str] = ()) -> BaseTree:
    """The wanted files of the base's final tree, in one pass over its layers: each layer's
    whiteouts (`.wh.NAME`, `.wh..wh..opq`, as oci/basefs.py applies them) remove what the
    layers below it left, then its own members are added."""
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    for layer in layers:
        if layout.has_blob(layer.digest):
            added, gone = _read_layer(layout, layer)
            for kept in (files, links):
                for name in [n for n in kept if any(_under(n, g) for g in gone)]:
                    del kept[name]
            for name, value in added.items():
                files.pop(name, None)
                links.pop(name, None)
                if isinstance(value, str):
                    links[name] = value
                else:
                    files[name] = value
    return BaseTree(files, links, tuple(env))


def _under(name: str, gone: str) -> bool:
    """`name` is `gone` or inside it (`gone` "dir/" for an opaque directory's contents)."""
    return (
        name.startswith(gone) if gone.endswith("/") else name == gone or name.startswith(gone + "/")
    )


def _read_layer(layout: Layout, layer: Descriptor) -> tuple[dict[str, bytes | str], set[str]]:
    """One layer's wanted members (content, or a link's target) and what it whites out.
    The listing is `oci.basefs`'s, so the image's assembly reads the layer no second time."""
    listing = list_layer(layout, layer, _wanted)
    gone = {f"{parent}/" if parent else "" for parent in listing.opaque}
    return dict(listing.wanted), gone | set(listing.removed)


def _normal(name: str) -> str:
    return "/".join(p for p in PurePosixPath(name).parts if p not in ("/", "."))


def _wanted(name: str) -> bool:
    return bool(
        _INTERPRETER.match(name)
        or _ALIAS.match(name)
        or _LIBC.match(name)
        or _MUSL.match(name)
        or _LIBPYTHON.match(name)
        or _DPKG.match(name)
        or name in _APKS
    )


def interpreters(tree: BaseTree) -> list[str]:
    """The base's Python interpreters, as paths without the leading `/`, sorted."""
    found = sorted({tree.resolve(p) for p in (*tree.files, *tree.links) if _INTERPRETER.match(p)})
    return [p for p in found if p in tree.files and _INTERPRETER.match(p)]


def choose_python(tree: BaseTree, requested: str | None, where: str) -> BasePython | None:
    """The base's Python: the one at `requested` (an image path), else the only one.

    None when the base has no Python and none was asked for; ConfigError (naming `where`,
    the `python` option) when the asked path is not a Python of the base, or when the
    base has several and no path says which.
    """
    found = interpreters(tree)
    if requested is not None:
        path = tree.resolve(requested.strip("/"))
        if path not in found:
            have = ", ".join(f"/{p}" for p in found) or "none"
            message = (
                f"{where} names {requested!r}, which is not a Python interpreter of the base "
                f"image (it has: {have}). Give one of those paths, or `base`/`bundled`"
            )
            raise ConfigError(message)
        return describe(tree, path)
    if not found:
        return None
    if len(found) > 1:
        have = ", ".join(f"/{p}" for p in found)
        message = (
            f"The base image has several Python interpreters ({have}); say which with "
            f'`python = "/{found[0]}"` (or KRUST_PYTHON), or `python = "bundled"` to bring '
            "the build machine's"
        )
        raise ConfigError(message)
    return describe(tree, found[0])


def describe(tree: BaseTree, path: str) -> BasePython:
    """Everything about the interpreter at `path` (a key of `tree.files`)."""
    match = _INTERPRETER.match(path)
    assert match is not None
    minor = f"3.{match.group(2)}"
    machine = _machine(tree.files[path], path)
    libc, libc_version = _libc(tree, machine)
    # dpkg and apk never install under /usr/local: that is a Python built from source
    package = None if path.startswith("usr/local/") else _package(tree, minor)
    version = _version(tree, minor, package)
    return BasePython(
        executable="/" + path,
        version=version,
        machine=machine,
        libc=libc,
        libc_version=libc_version,
        free_threaded=bool(match.group(3)),
        package=package,
    )


def _machine(data: bytes, path: str) -> str:
    try:
        machine = str(ELFFile(io.BytesIO(data)).header["e_machine"])
    except (ELFError, ValueError, KeyError) as exc:
        message = f"The base's /{path} is not a readable ELF program ({exc})"
        raise ImageError(message) from None
    return _MACHINES.get(machine, machine.removeprefix("EM_").lower())


def _libc(tree: BaseTree, machine: str) -> tuple[str, tuple[int, int]]:
    """("glibc", (2, N)) from libc.so.6's version definitions, or ("musl", (1, N))."""
    for path, data in sorted(tree.files.items()):
        if _MUSL.match(path):
            found = re.search(rb"\x00(1\.(\d+)\.\d+)\x00", data)
            return "musl", (1, int(found.group(2)) if found else 2)
    best: tuple[int, int] | None = None
    for path, data in sorted(tree.files.items()):
        if _LIBC.match(path):
            version = _glibc_version(data)
            if version and _machine(data, path) == machine:
                best = max(best or version, version)
    if best is None:
        message = (
            f"The base image has a Python for {machine} but no C library this build can "
            "read (no libc.so.6 with GLIBC_2.N versions, no ld-musl); give a glibc or musl "
            'base, or `python = "bundled"`'
        )
        raise ImageError(message)
    return "glibc", best


def _glibc_version(data: bytes) -> tuple[int, int] | None:
    try:
        elf = ELFFile(io.BytesIO(data))
        section = elf.get_section_by_name(".gnu.version_d")
        if not isinstance(section, GNUVerDefSection):
            return None
        found = []
        for _verdef, auxiliaries in section.iter_versions():
            for aux in auxiliaries:
                hit = re.fullmatch(r"GLIBC_2\.(\d+)", str(aux.name))
                if hit:
                    found.append((2, int(hit.group(1))))
        return max(found) if found else None
    except (ELFError, ValueError, KeyError):
        return None


def _package(tree: BaseTree, minor: str) -> BasePackage | None:
    """The package that installed Python `minor`, from dpkg's or apk's records."""
    wanted = (f"python{minor}-minimal", f"python{minor}")
    for path, data in sorted(tree.files.items()):
        if not _DPKG.match(path) or path.endswith(".md5sums"):
            continue
        for fields in stanzas(data.decode("utf-8", "replace")):
            if fields.get("Package") in wanted and installed(fields):
                return BasePackage(
                    "debian", fields["Package"], fields.get("Version", ""),
                    fields.get("Architecture", ""),
                )  # fmt: skip
    for apk in (tree.files[p] for p in _APKS if p in tree.files):
        for stanza in apk.decode("utf-8", "replace").split("\n\n"):
            lines = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line)
            if lines.get("P") in (f"python-{minor}", f"python{minor}"):
                return BasePackage("apk", lines["P"], lines.get("V", ""), lines.get("A", ""))
    return None


def _version(tree: BaseTree, minor: str, package: BasePackage | None) -> str:
    """The full version: `PYTHON_VERSION`, the package's upstream version, or the binary's."""
    for item in tree.env:
        key, _, value = item.partition("=")
        if key == "PYTHON_VERSION" and value.startswith(f"{minor}."):
            return value
    if package is not None:
        upstream = package.version.split(":", 1)[-1].split("-", 1)[0]
        if upstream.startswith(f"{minor}."):
            return upstream
    pattern = re.compile(rb"(?<![\d.])(" + re.escape(minor.encode()) + rb"\.\d+)\x00")
    for path, data in sorted(tree.files.items()):
        if _LIBPYTHON.match(path) or _INTERPRETER.match(path):
            found = pattern.search(data)
            if found:
                return found.group(1).decode()
    return minor


def env_of(config: Mapping[str, object]) -> tuple[str, ...]:
    """The Env list of an image config document."""
    inner = config.get("config")
    env = inner.get("Env") if isinstance(inner, dict) else None
    return tuple(str(e) for e in env) if isinstance(env, list) else ()
