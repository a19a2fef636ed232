"""What the dynamic loader reads from an ELF file, and an in-place RUNPATH rewrite.

A copied interpreter still names the build host's directories in its RUNPATH (pyenv puts
`/root/.pyenv/versions/X/lib` there). The image's path is shorter, so the string in
`.dynstr` is overwritten in place and padded with NULs: no patchelf, no relinking, the
same bytes every time, and no dependency on `/proc` (which `$ORIGIN` would need).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import InterpSegment

from hatch_krust.errors import ImageError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["DynamicInfo", "is_elf", "read_dynamic", "rewrite_search_path", "strip_debug"]

_MAGIC = b"\x7fELF"
_PATH_TAGS = ("DT_RUNPATH", "DT_RPATH")


@dataclass(frozen=True)
class DynamicInfo:
    """The loader's view of one file: its machine, interpreter, needs and search path."""

    machine: str
    interpreter: str | None
    needed: tuple[str, ...]
    runpath: tuple[str, ...]  # DT_RUNPATH, or DT_RPATH when there is no RUNPATH
    soname: str | None


def is_elf(path: Path) -> bool:
    """True for a regular file that starts with the ELF magic."""
    try:
        with path.open("rb") as stream:
            return stream.read(4) == _MAGIC
    except OSError:
        return False


def read_dynamic(path: Path) -> DynamicInfo:
    """Read the dynamic facts of `path`; ImageError when it is not a readable ELF file."""
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            interpreter, tags = None, {}
            for segment in elf.iter_segments():
                if isinstance(segment, InterpSegment):
                    interpreter = str(segment.get_interp_name())
                elif isinstance(segment, DynamicSegment):
                    tags = _string_tags(segment)
            paths = tags.get("DT_RUNPATH") or tags.get("DT_RPATH") or []
            runpath = tuple(p for value in paths for p in value.split(":") if p)
            soname = next(iter(tags.get("DT_SONAME", [])), None)
            needed = tuple(tags.get("DT_NEEDED", []))
            return DynamicInfo(str(elf["e_machine"]), interpreter, needed, runpath, soname)
    except (ELFError, OSError) as exc:
        message = f"{path} is not a readable ELF file: {exc}"
        raise ImageError(message) from exc


def _string_tags(segment: DynamicSegment) -> dict[str, list[str]]:
    """NEEDED, SONAME, RUNPATH and RPATH as strings (pyelftools sets these attributes)."""
    attribute = {
        "DT_NEEDED": "needed",
        "DT_SONAME": "soname",
        "DT_RUNPATH": "runpath",
        "DT_RPATH": "rpath",
    }
    found: dict[str, list[str]] = {}
    for tag in segment.iter_tags():
        name = tag.entry.d_tag
        if name in attribute:
            found.setdefault(name, []).append(str(getattr(tag, attribute[name])))
    return found


def rewrite_search_path(path: Path, change: Callable[[str], str]) -> bool:
    """Replace each RUNPATH/RPATH entry `e` of `path` (a copy we own) by `change(e)`, in place.

    Returns True when something changed. The new string must fit where the old one was.
    """
    with path.open("r+b") as stream:
        try:
            spots = _search_path_spots(ELFFile(stream))
        except ELFError as exc:
            message = f"{path} is not a readable ELF file: {exc}"
            raise ImageError(message) from exc
        changed = False
        for offset, old in spots:
            new = ":".join(change(entry) for entry in old.split(":")).encode()
            if new == old.encode():
                continue
            if len(new) > len(old.encode()):
                message = (
                    f"Cannot rewrite the library search path of {path}: {new.decode()!r} is "
                    f"longer than {old!r}. Install the interpreter under a longer prefix."
                )
                raise ImageError(message)
            stream.seek(offset)
            stream.write(new + b"\0" * (len(old.encode()) - len(new)))
            changed = True
    return changed


def _search_path_spots(elf: ELFFile) -> list[tuple[int, str]]:
    """(file offset, string) of each RUNPATH/RPATH value in the dynamic string table."""
    spots: list[tuple[int, str]] = []
    for segment in elf.iter_segments():
        if not isinstance(segment, DynamicSegment):
            continue
        strtab = next(
            (t.entry.d_val for t in segment.iter_tags() if t.entry.d_tag == "DT_STRTAB"), None
        )
        if strtab is None:
            continue
        base = next(iter(elf.address_offsets(strtab)), None)
        if base is None:
            continue
        for tag in segment.iter_tags():
            if tag.entry.d_tag in _PATH_TAGS:
                attribute = "runpath" if tag.entry.d_tag == "DT_RUNPATH" else "rpath"
                value = getattr(tag, attribute)
                spots.append((base + tag.entry.d_val, str(value)))
    return spots


def strip_debug(path: Path) -> bool:
    """Strip symbols `path` (a copy we own) does not need to run, when it has any.

    Uses binutils' `strip --strip-unneeded` (deterministic); without binutils nothing
    is stripped and the layer is only larger. Returns True when the file was stripped.
    """
    tool = shutil.which("strip")
    if tool is None or not _has_symbols(path):
        return False
    result = subprocess.run(
        [tool, "--strip-unneeded", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        message = f"strip failed on a copy of {path.name}: {result.stderr.strip()[:400]}"
        raise ImageError(message)
    return True


def _has_symbols(path: Path) -> bool:
    with path.open("rb") as stream:
        try:
            elf = ELFFile(stream)
        except ELFError:
            return False
        return any(s.name == ".symtab" or s.name.startswith(".debug") for s in elf.iter_sections())
