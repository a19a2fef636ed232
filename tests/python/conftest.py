"""Fixtures of the toolkit's tests: the freeze demo project's wheel (a real hatchling build)."""

from __future__ import annotations

from tests.freeze.conftest import demo_wheel

__all__ = ["demo_wheel"]
