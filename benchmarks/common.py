"""Helpers shared by the benchmark scripts: logging, medians, and what code was measured."""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def code_state() -> tuple[str, str, bool]:
    """(HEAD commit, digest of hatch_krust/**/*.py, uncommitted changes there?) of the code
    under test: the package is installed editable, so edits made while the script runs
    change what is measured."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "hatch_krust").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    git = ["git", "-C", str(REPO)]
    head = (
        subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        or "unknown"
    )
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "hatch_krust"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return head, digest.hexdigest()[:12], bool(dirty)


def code_note(before: tuple[str, str, bool], after: tuple[str, str, bool]) -> str:
    head, tree, dirty = before
    note = f"Code under test: commit {head}" + (
        " plus uncommitted changes in hatch_krust/" if dirty else ""
    )
    if tree != after[1]:
        note += (
            f"; WARNING: hatch_krust/ changed during the run ({tree} -> {after[1]}), "
            "so rounds may have measured different code"
        )
    return note + "."


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} s"
    return f"{med(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def pyinstaller_by_hand(venv: Path) -> list[str]:
    """PyInstaller as a user would run it for examples/hello, with hatch-krust's choices:
    stripped, and the metadata and data file collected so `--version` and the greeting work."""
    return [
        str(venv / "bin" / "pyinstaller"),
        "--onefile", "--strip", "--noconfirm", "--clean", "--log-level", "WARN",
        "--copy-metadata", "hello", "--collect-data", "hello", "--name", "hello",
        "launcher.py",
    ]  # fmt: skip
