"""Wheel -> one static Linux executable, through a pluggable freezer (default: PyInstaller).

    from hatch_krust.freeze import FreezeRequest, freeze
    result = freeze(FreezeRequest(wheel=..., ...))   # result.executable is static

Freezers are found with pluggy: the default is registered directly, others come from the
`hatch_krust.freezers` entry-point group (see `hatch_krust.freeze.spec`).
"""

from __future__ import annotations

import pluggy

from hatch_krust.errors import FreezeError
from hatch_krust.freeze import pyinstaller
from hatch_krust.freeze.pyinstaller import FREEZER_PINS
from hatch_krust.freeze.spec import (
    PROJECT_NAME,
    Freezer,
    FreezeRequest,
    FreezeResult,
    FreezerSpec,
)

__all__ = [
    "DEFAULT_FREEZER",
    "FREEZER_PINS",
    "FreezeRequest",
    "FreezeResult",
    "Freezer",
    "available_freezers",
    "freeze",
    "plugin_manager",
]

DEFAULT_FREEZER = "pyinstaller"
ENTRY_POINT_GROUP = "hatch_krust.freezers"


def plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager holding the default freezer and, optionally, installed third-party ones."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(FreezerSpec)
    manager.register(pyinstaller, name=DEFAULT_FREEZER)
    if load_entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


def available_freezers(manager: pluggy.PluginManager | None = None) -> dict[str, type[Freezer]]:
    """Freezer classes by name; the first registration of a name wins (the default first)."""
    manager = manager or plugin_manager()
    found: dict[str, type[Freezer]] = {}
    # pluggy calls the last registered plugin first: reverse to let the built-in win.
    for result in reversed(manager.hook.krust_register_freezer()):
        for cls in result if isinstance(result, list) else [result]:
            found.setdefault(cls.name, cls)
    return found


def freeze(
    request: FreezeRequest,
    freezer: str = DEFAULT_FREEZER,
    *,
    manager: pluggy.PluginManager | None = None,
) -> FreezeResult:
    """Freeze `request.wheel` with the freezer called `freezer`; FreezeError on any failure."""
    freezers = available_freezers(manager)
    if freezer not in freezers:
        message = (
            f"Unknown freezer `{freezer}`; available: {', '.join(sorted(freezers))}. "
            f"Other freezers are installed packages with a `{ENTRY_POINT_GROUP}` entry point."
        )
        raise FreezeError(message)
    request.work_dir.mkdir(parents=True, exist_ok=True)
    return freezers[freezer]().freeze(request)
