"""Scripts run by the freeze environment's Python, never imported by hatch-krust itself.

They must run on Python 3.9+ with only the freeze environment's packages.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["runner_script"]


def runner_script(name: str, work_dir: Path) -> Path:
    """Copy the runner `name` into `work_dir/runners` (outside any package) and return its path."""
    target = work_dir / "runners" / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        source = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
        target.write_text(source, encoding="utf-8")
    return target
