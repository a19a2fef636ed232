"""Check that an executable is really static before it goes into an image.

A static executable has no program interpreter (PT_INTERP) and needs no shared library
(DT_NEEDED); anything else fails at start in a `scratch` image with a cryptic
"no such file or directory".
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import InterpSegment

from hatch_krust.errors import FreezeError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ElfInfo", "expected_machine", "inspect_elf", "verify_static"]

# platform.machine() -> pyelftools' e_machine name
_MACHINES = {
    "x86_64": "EM_X86_64",
    "amd64": "EM_X86_64",
    "aarch64": "EM_AARCH64",
    "arm64": "EM_AARCH64",
    "armv7l": "EM_ARM",
    "i686": "EM_386",
    "ppc64le": "EM_PPC64",
    "s390x": "EM_S390",
    "riscv64": "EM_RISCV",
}


@dataclass(frozen=True)
class ElfInfo:
    """The facts about an ELF file that decide whether it runs in an empty root."""

    machine: str  # pyelftools' name, e.g. "EM_X86_64"
    interpreter: str | None  # PT_INTERP, e.g. "/lib64/ld-linux-x86-64.so.2"
    needed: tuple[str, ...]  # DT_NEEDED entries, e.g. ("libc.so.6",)

    @property
    def is_static(self) -> bool:
        return self.interpreter is None and not self.needed


def expected_machine() -> str:
    """The e_machine of executables built on this host (PyInstaller cannot cross-build)."""
    machine = platform.machine().lower()
    return _MACHINES.get(machine, f"EM_{machine.upper()}")


def inspect_elf(path: Path) -> ElfInfo:
    """Read machine, interpreter and needed libraries; FreezeError when it is not an ELF file."""
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            interpreter: str | None = None
            needed: list[str] = []
            for segment in elf.iter_segments():
                if isinstance(segment, InterpSegment):
                    interpreter = str(segment.get_interp_name())
                elif isinstance(segment, DynamicSegment):
                    needed += _needed(segment)
            return ElfInfo(str(elf["e_machine"]), interpreter, tuple(needed))
    except (ELFError, OSError) as exc:
        message = f"{path} is not a readable ELF executable: {exc}"
        raise FreezeError(message) from exc


def _needed(segment: DynamicSegment) -> list[str]:
    # DynamicTag sets `needed` at run time; pyelftools' type hints do not know it.
    tags = [tag for tag in segment.iter_tags() if tag.entry.d_tag == "DT_NEEDED"]
    return [str(tag.needed) for tag in tags]  # type: ignore[attr-defined]


def verify_static(path: Path, machine: str | None = None) -> ElfInfo:
    """Raise FreezeError unless `path` is a static ELF for `machine` (default: this host's)."""
    info = inspect_elf(path)
    wanted = machine or expected_machine()
    if info.machine != wanted:
        message = f"{path} is an ELF for {info.machine}, not for {wanted} as expected."
        raise FreezeError(message)
    if not info.is_static:
        needs = [*info.needed]
        if info.interpreter:
            needs.append(f"the program interpreter {info.interpreter}")
        message = (
            f"{path} is not static: it needs {', '.join(needs)}. It would not start in an "
            "image without a C library; staticx should have bundled these."
        )
        raise FreezeError(message)
    return info
