"""The matrix shares the end-to-end tests' copy of the plugin (one per session)."""

from tests.e2e.conftest import plugin_dir

__all__ = ["plugin_dir"]
