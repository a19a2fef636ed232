"""The dependency set a freeze would install today, for the executable cache key.

The wheel only declares ranges (`click>=8`); a new release inside a range must invalidate
the cached executable. `uv pip compile` answers in about 0.2 s from its HTTP cache, so a
rebuild stays fast. Offline, uv's cache alone is asked; if even that cannot answer, the
caller keys on the declared requirements and says so.
"""

from __future__ import annotations

import subprocess
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["declared_requirements", "resolve_requirements"]


def declared_requirements(wheel: Path) -> list[str]:
    """`Requires-Dist` of the wheel's METADATA, in order."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(
            n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        )
        metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
    return list(metadata.get_all("Requires-Dist") or [])


def resolve_requirements(
    requirements: list[str], pins: Mapping[str, str], python: str, env: Mapping[str, str]
) -> list[str] | None:
    """Pinned `name==version` lines for `requirements` plus the freezer `pins`, or None.

    uv runs with `env` (the build's environment: its index settings, its cache).
    """
    from hatch_krust.python.backends import find_uv
    from hatch_krust.python.process import installer_env

    uv = find_uv(env)
    if uv is None:
        return None
    lines = [*requirements, *(f"{name}{spec}" for name, spec in sorted(pins.items()))]
    with tempfile.TemporaryDirectory(prefix="krust-resolve-") as tmp:
        source = Path(tmp) / "requirements.in"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--python",
            python,
            str(source),
        ]
        for extra in ([], ["--offline"]):
            try:
                done = subprocess.run(
                    [*command, *extra],
                    env=installer_env(env),
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0:
                return [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return None
