"""The toolkit's public names: what the freezer and the layered format import from it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import hatch_krust.python as toolkit

MODULES = (
    "backends",
    "dependencies",
    "environment",
    "extras",
    "interpreter",
    "metadata",
    "process",
    "wheel_build",
    "wheelfile",
)


def test_the_package_exports_are_sorted_and_present() -> None:
    names = toolkit.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(toolkit, name) for name in names)
    wanted = {"Interpreter", "probe_interpreter", "create_environment", "run_tool", "find_uv"}
    assert wanted <= set(names)


def test_every_module_is_public() -> None:
    """Other packages import the toolkit's modules by name: none is private (`_name`)."""
    found = sorted(m.name for m in pkgutil.iter_modules(toolkit.__path__))
    assert found == sorted(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_each_module_lists_what_it_exports(name: str) -> None:
    module = importlib.import_module(f"hatch_krust.python.{name}")
    assert module.__all__
    assert all(hasattr(module, export) for export in module.__all__)
