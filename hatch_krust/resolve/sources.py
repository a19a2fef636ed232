"""Which files `-f` (and `-R`) mean, and reading them: UTF-8 text, scanned for references."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import KrustError
from hatch_krust.resolve.scan import Occurrence, find_references

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["STDIN", "YAML_SUFFIXES", "YamlFile", "collect_files", "read_files"]

STDIN = "-"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class YamlFile:
    name: str  # as given (or found in a directory); `-` is standard input
    text: str
    occurrences: list[Occurrence] = field(default_factory=list)


def collect_files(
    sources: Sequence[str], *, recursive: bool = False, cwd: Path | None = None
) -> list[str]:
    """The files `-f` names, in order: a file as it is; a directory's `*.yaml` and `*.yml`
    files sorted by path (with `recursive`, those of its subdirectories too, in the order
    kubectl walks them); `-` for standard input. Relative names are relative to `cwd`."""
    base = Path.cwd() if cwd is None else cwd
    files: list[str] = []
    for source in sources:
        if source == STDIN:
            files.append(STDIN)
            continue
        path = base / source
        if path.is_dir():
            found = path.rglob("*") if recursive else path.iterdir()
            chosen = sorted(
                (p for p in found if p.suffix in YAML_SUFFIXES and p.is_file()),
                key=lambda p: p.relative_to(path).parts,
            )
            if not chosen:
                hint = "" if recursive else " (-R also reads its subdirectories)"
                message = f"{source}: the directory has no .yaml or .yml files{hint}"
                raise KrustError(message)
            files.extend(str(Path(source, *p.relative_to(path).parts)) for p in chosen)
        elif path.exists():
            files.append(source)
        else:
            message = f"{source}: no such file or directory"
            raise KrustError(message)
    return files


def read_files(
    names: Sequence[str], stdin: Callable[[], bytes] | None = None, cwd: Path | None = None
) -> list[YamlFile]:
    """Read and scan each file (UTF-8, line endings kept as they are)."""
    base = Path.cwd() if cwd is None else cwd
    result: list[YamlFile] = []
    for name in names:
        if name == STDIN:
            data = stdin() if stdin is not None else sys.stdin.buffer.read()
        else:
            data = (base / name).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise KrustError(message) from None
        shown = "<stdin>" if name == STDIN else name
        result.append(YamlFile(shown, text, find_references(text, shown)))
    return result
