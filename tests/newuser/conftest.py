"""Tests from trying hatch-krust as a new user would; they share the e2e fixtures."""

from tests.e2e.conftest import cache_dir, plugin_dir

__all__ = ["cache_dir", "plugin_dir"]
