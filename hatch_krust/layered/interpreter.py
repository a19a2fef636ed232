"""Where the image's interpreter and standard library come from: a swappable source.

`HostInterpreter` copies the build host's Python (a pyenv build or Debian's
`/usr/bin/python3`) to `/opt/python` in the image, keeping its layout relative to its
prefix. Another source (an interpreter for another architecture, unpacked from a Python
base image or from distribution packages) only has to describe itself the same way and
name a Python of the same version that runs here to compile bytecode with.

What is left out: tests, idlelib, tkinter and turtledemo (they need a display or are only
for CPython's own development), `config-*` (static library and Makefile for building
CPython extensions against a static Python), the interpreter's own site-packages (the
project's come from its environment), test extension modules and `nis`. `ensurepip` stays, so
`python -m venv` works in the image as it does on the host.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from hatch_krust.errors import ImageError
from hatch_krust.layered.elf import is_elf, read_dynamic, rewrite_search_path, strip_debug
from hatch_krust.leftovers import remove_stale
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.layer import Entry, file_entry, link_entry
from hatch_krust.python import InterpreterLayout

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hatch_krust.python import Interpreter

__all__ = [
    "IMAGE_PREFIX",
    "HostInterpreter",
    "InterpreterInfo",
    "InterpreterSource",
    "host_interpreter",
]

IMAGE_PREFIX = "/opt/python"

# Top-level names in the standard library that an application image does not need.
_SKIP_TOP = frozenset(
    {"test", "idlelib", "tkinter", "turtledemo", "site-packages", "dist-packages", "__pycache__"}
)
_SKIP_NESTED = frozenset(
    {
        ("ctypes", "test"),
        ("unittest", "test"),
        ("sqlite3", "test"),
        ("distutils", "tests"),
        ("lib2to3", "tests"),
    }
)
# Test modules, Tk (X11), and NIS (deprecated, removed in 3.13; it alone links libnsl,
# libtirpc and through them Kerberos: 8 libraries for a protocol no container uses).
_SKIP_MODULES = (
    "_test",
    "_xxtestfuzz",
    "xxlimited",
    "xxsubtype",
    "_ctypes_test",
    "_tkinter",
    "nis.",
)
_SKIP_SUFFIXES = (".pyc", ".pyo", ".exe", ".a", ".o")


@dataclass(frozen=True)
class InterpreterInfo(InterpreterLayout):
    """An interpreter's layout (host paths, as the one probe reports them) and where its
    files go in the image."""

    @property
    def short_version(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def image_executable(self) -> str:
        return f"{IMAGE_PREFIX}/bin/python{self.short_version}"

    def image_path(self, host: Path) -> str:
        """Where a file under the host prefix goes in the image."""
        return str(PurePosixPath(IMAGE_PREFIX) / host.relative_to(self.prefix))


class InterpreterSource(Protocol):
    """Anything that can lay out an interpreter and its standard library for the image."""

    @property
    def info(self) -> InterpreterInfo: ...

    @property
    def compiler(self) -> Path:
        """A Python of the same version that runs on the build host (compiles bytecode)."""
        ...

    def entries(self, work: Path) -> list[Entry]:
        """The interpreter's files at image paths; patched copies are written under `work`."""
        ...

    def bytecode_dirs(self) -> tuple[str, ...]:
        """Image directories whose `.py` files get pre-compiled bytecode."""
        ...


def host_interpreter(interpreter: Interpreter) -> HostInterpreter:
    """The build host's interpreter, probed by `hatch_krust.python.probe_interpreter` (the
    one probe; a venv's Python means its base), as a source to copy into the image."""
    layout = interpreter.layout
    info = InterpreterInfo(**{f.name: getattr(layout, f.name) for f in fields(layout)})
    for path in (info.executable, info.stdlib):
        if not path.is_relative_to(info.prefix):
            message = (
                f"The interpreter `{interpreter.executable}` keeps {path} outside its prefix "
                f"{info.prefix}; it cannot be relocated into the image. Use a pyenv or "
                "distribution Python."
            )
            raise ImageError(message)
    return HostInterpreter(info)


@dataclass(frozen=True)
class HostInterpreter:
    """The build host's interpreter, copied file by file."""

    info: InterpreterInfo
    strip: bool = True  # drop symbols when binutils' strip is there (pyenv: 23 MB -> 6 MB)

    @property
    def compiler(self) -> Path:
        return self.info.executable

    def bytecode_dirs(self) -> tuple[str, ...]:
        return (self.info.image_path(self.info.stdlib),)

    def entries(self, work: Path) -> list[Entry]:
        info = self.info
        remove_stale(work / "elf", ("*.partial",))  # of a build killed while copying
        entries = [self._elf_entry(info.executable, work, info.image_executable)]
        short = info.short_version
        entries += [
            link_entry(f"{IMAGE_PREFIX}/bin/python3", f"python{short}"),
            link_entry(f"{IMAGE_PREFIX}/bin/python", f"python{short}"),
        ]
        if info.soname and info.libdir and info.soname in read_dynamic(info.executable).needed:
            image = info.image_path(info.libdir / info.soname)
            entries.append(self._elf_entry((info.libdir / info.soname).resolve(), work, image))
        seen: set[str] = set()
        for root in sorted({info.stdlib, info.platstdlib}):
            for source in _library_files(root):
                image = info.image_path(source)
                if image not in seen:
                    seen.add(image)
                    entries.append(self._elf_entry(source, work, image))
        return entries

    def _elf_entry(self, source: Path, work: Path, image: str) -> Entry:
        """A file; an ELF file becomes a relocated (and stripped) copy, kept in `work`.

        The copy is named by the source's digest, so a later build with the same `work`
        reuses it instead of copying and stripping again, once its own digest (recorded
        beside it when it was made) still matches: a damaged copy is made again.
        """
        if not is_elf(source):
            return file_entry(image, source, 0o755 if os.access(source, os.X_OK) else 0o644)
        variant = f"{self.info.prefix}\0{IMAGE_PREFIX}\0{self.strip}".encode()
        name = hashlib.sha256(variant + source.read_bytes()).hexdigest()
        copy = work / "elf" / name
        if not _intact(copy):
            copy.parent.mkdir(parents=True, exist_ok=True)
            partial = copy.with_name(f"{name}.{os.getpid()}.partial")
            shutil.copyfile(source, partial)
            rewrite_search_path(partial, self._relocated)
            if self.strip:
                strip_debug(partial)
            record = copy.with_name(f"{name}.sha256.{os.getpid()}.partial")
            record.write_text(sha256_file(partial), "ascii")
            record.replace(copy.with_name(f"{name}.sha256"))
            partial.replace(copy)
        return file_entry(image, copy, 0o755)

    def _relocated(self, entry: str) -> str:
        path = Path(os.path.normpath(entry)) if entry.startswith("/") else None
        if path is not None and path.is_relative_to(self.info.prefix):
            return self.info.image_path(path)
        return entry


def _intact(copy: Path) -> bool:
    """True when `copy` still has the digest recorded for it when it was made."""
    try:
        recorded = copy.with_name(f"{copy.name}.sha256").read_text("ascii").strip()
        return copy.is_file() and sha256_file(copy) == recorded
    except (OSError, UnicodeError):
        return False


def _library_files(root: Path) -> Iterator[Path]:
    """The standard library's files under `root`, minus what an application does not need."""
    for directory, dirs, files in os.walk(root):
        here = Path(directory)
        parts = here.relative_to(root).parts
        dirs[:] = sorted(d for d in dirs if not _skipped_dir((*parts, d)))
        for name in sorted(files):
            path = here / name
            if name.endswith(_SKIP_SUFFIXES) or _skipped_module(parts, name):
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                continue  # Debian links sitecustomize.py to /etc: not part of the library
            if path.is_file():
                yield path


def _skipped_dir(parts: tuple[str, ...]) -> bool:
    if parts[-1] == "__pycache__" or parts[0].startswith("config-"):
        return True
    return (len(parts) == 1 and parts[0] in _SKIP_TOP) or parts[-2:] in _SKIP_NESTED


def _skipped_module(parts: tuple[str, ...], name: str) -> bool:
    return bool(parts) and parts[-1] == "lib-dynload" and name.startswith(_SKIP_MODULES)
