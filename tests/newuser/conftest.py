"""Tests from trying hatch-krust as a new user would; they share the e2e fixtures."""

from __future__ import annotations

from tests.e2e.conftest import plugin_dir
from tests.e2e.test_image import probe_app

__all__ = ["PROBE_STEM", "plugin_dir", "probe_app"]

PROBE_STEM = "probe-app-0.3.0"
