"""Run PyInstaller so that no collected binary keeps a RUNPATH (staticx issue 188).

A pyenv-built Python puts DT_RUNPATH into libpython and every extension module; staticx
refuses such input. PyInstaller passes every binary it packs through
`process_collected_binary` (strip, cache); wrapping it to return a copy without the
RUNPATH fixes all of them, including bootstrap modules that never appear in the spec.

The same wrapper undoes `--strip` where it breaks a library: binutils `strip` on a
library that auditwheel's patchelf rewrote (numpy's `numpy.libs/libscipy_openblas*.so`)
can leave a PT_LOAD segment whose offset and address disagree modulo the page size, which
the dynamic loader refuses at run time ("ELF load command address/offset not
page-aligned"). Such a binary is packed unstripped.

Arguments too many for a command line (every module of every installed distribution,
hatch_krust/freeze/collect.py) come in a JSON array in the file `ARGS_FILE_ENV` names.

Usage: python pyinstaller_run.py COPY_DIR -- PYINSTALLER_ARGS...
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import PyInstaller
from PyInstaller.building import api, utils

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_NO_HOOK = 3
ARGS_FILE_ENV = "KRUST_PYINSTALLER_ARGS_FILE"
_PAGE_SIZE = 4096


def needs_fix(path: Path) -> bool:
    """True when staticx would refuse the binary: any RUNPATH, or an RPATH not below $ORIGIN."""
    # pyelftools comes with staticx; imported here so the hook check needs only PyInstaller.
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as stream:
            for section in ELFFile(stream).iter_sections():
                if isinstance(section, DynamicSection):
                    return any(_dangerous(tag) for tag in section.iter_tags())
    except (ELFError, OSError):
        return False
    return False


def misaligned(path: Path) -> bool:
    """True when a PT_LOAD segment's address and file offset disagree modulo its alignment
    or the page size, which glibc's loader refuses."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as stream:
            for segment in ELFFile(stream).iter_segments():
                if segment["p_type"] != "PT_LOAD":
                    continue
                delta = segment["p_vaddr"] - segment["p_offset"]
                if delta % _PAGE_SIZE or delta % max(segment["p_align"], 1):
                    return True
    except (ELFError, OSError):
        return False
    return False


def _dangerous(tag: Any) -> bool:
    if tag.entry.d_tag == "DT_RUNPATH":
        return True
    if tag.entry.d_tag == "DT_RPATH":
        value = str(tag.rpath)
        return not value.startswith("$ORIGIN") or ".." in value
    return False


def without_runpath(name: str, copy_dir: Path) -> str:
    """A copy of binary `name` with RPATH/RUNPATH removed, or `name` itself when it has none."""
    path = Path(name)
    if not needs_fix(path):
        return name
    digest = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:16]
    target = copy_dir / digest / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    shutil.copymode(path, target)
    subprocess.run(["patchelf", "--remove-rpath", str(target)], check=True)
    return str(target)


def _hook_point() -> Callable[..., str]:
    """PyInstaller's process_collected_binary; exit loudly when this PyInstaller lacks it."""
    original = getattr(utils, "process_collected_binary", None)
    if callable(original) and getattr(api, "process_collected_binary", None) is original:
        return cast("Callable[..., str]", original)
    sys.stderr.write(
        f"hatch-krust: PyInstaller {PyInstaller.__version__} no longer has the hook point "
        "PyInstaller.building.utils.process_collected_binary (also bound in "
        "PyInstaller.building.api); use a PyInstaller version in hatch-krust's pinned range.\n"
    )
    sys.exit(EXIT_NO_HOOK)


def install_hook(copy_dir: Path) -> None:
    """Wrap process_collected_binary in both modules that bind it."""
    original = _hook_point()

    def process_collected_binary(src_name: str, dest_name: str, *args: Any, **kwargs: Any) -> str:
        processed = original(src_name, dest_name, *args, **kwargs)
        if (
            kwargs.get("use_strip")
            and processed != src_name
            and misaligned(Path(processed))
            and not misaligned(Path(src_name))
        ):
            sys.stderr.write(f"hatch-krust: not stripping {src_name}: strip misaligns it\n")
            processed = original(src_name, dest_name, *args, **{**kwargs, "use_strip": False})
        return without_runpath(processed, copy_dir)

    utils.process_collected_binary = process_collected_binary
    api.process_collected_binary = process_collected_binary


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] != "--":
        sys.exit("usage: pyinstaller_run.py COPY_DIR -- PYINSTALLER_ARGS...")
    install_hook(Path(argv[0]))
    from PyInstaller.__main__ import run

    args = argv[2:]
    if os.environ.get(ARGS_FILE_ENV):
        args = [*json.loads(Path(os.environ[ARGS_FILE_ENV]).read_text("utf-8")), *args]
    run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
