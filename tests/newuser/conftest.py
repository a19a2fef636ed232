"""Tests from trying hatch-krust as a new user would; they share the e2e fixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.conftest import plugin_dir, write_project
from tests.e2e.test_image import PROBE_APP

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["PROBE_STEM", "plugin_dir", "probe_app"]

PROBE_STEM = "probe-app-0.3.0"


def probe_app(root: Path, krust: str, extra: str = "") -> Path:
    """The end-to-end tests' probe project (tests/e2e/test_image.py) with this `krust` table.
    Its executable depends on none of that table, so the session's cache (`cache_dir`) serves
    one freeze of it (tests/e2e/test_image.py's, in a whole run) to every test here that
    checks something other than the freeze."""
    return write_project(
        root,
        name="probe-app",
        version="0.3.0",
        scripts={"probe-app": "probe_app.app:main"},
        files={"probe_app/app.py": PROBE_APP},
        krust=krust,
        extra=extra,
    )
