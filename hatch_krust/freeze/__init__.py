"""Wheel -> one static Linux executable, through a pluggable freezer (default: PyInstaller).

    from hatch_krust.freeze import FreezeRequest, freeze
    result = freeze(FreezeRequest(wheel=..., ...))   # result.executable is static

Freezers are found with pluggy: the default is registered directly, others come from the
`hatch_krust.freezers` entry-point group (see `hatch_krust.freeze.spec`). `find_freezer`
gives the class, whose `pins` a caller needs before freezing (the cache key);
`probe_interpreter` (re-exported from `hatch_krust.python`, the one interpreter probe)
checks the interpreter once for both.

What is here is the freezer alone: PyInstaller and staticx (`pyinstaller`, `staticx`,
`_runners`), the plugins PyInstaller cannot see (`plugins`), the PID-1 launcher it bundles
(`launcher`), the static check (`elf`) and the bill of materials read from PyInstaller's
work files (`bundle`). The Python environment, the interpreter probe, the wheel and its
extras come from the toolkit `hatch_krust.python`.
"""

from __future__ import annotations

from collections.abc import Mapping

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
from hatch_krust.python.interpreter import Interpreter, probe_interpreter

__all__ = [
    "DEFAULT_FREEZER",
    "FREEZER_PINS",
    "FreezeRequest",
    "FreezeResult",
    "Freezer",
    "Interpreter",
    "available_freezers",
    "find_freezer",
    "freeze",
    "plugin_manager",
    "probe_interpreter",
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


def find_freezer(name: str, manager: pluggy.PluginManager | None = None) -> type[Freezer]:
    """The freezer class registered as `name`; FreezeError naming the available ones."""
    freezers = available_freezers(manager)
    if name not in freezers:
        message = (
            f"Unknown freezer `{name}`; available: {', '.join(sorted(freezers))}. "
            f"Other freezers are installed packages with a `{ENTRY_POINT_GROUP}` entry point."
        )
        raise FreezeError(message)
    found = freezers[name]
    if not isinstance(getattr(found, "pins", None), Mapping):
        message = (
            f"The freezer `{name}` ({found.__module__}.{found.__qualname__}) has no `pins`: "
            "a freezer declares the version ranges of the tools it installs as a mapping "
            "(empty when it installs none). Update the plugin that provides it."
        )
        raise FreezeError(message)
    return found


def freeze(
    request: FreezeRequest,
    freezer: str | type[Freezer] = DEFAULT_FREEZER,
    *,
    manager: pluggy.PluginManager | None = None,
) -> FreezeResult:
    """Freeze `request.wheel` with `freezer` (a name or a class from `find_freezer`);
    FreezeError on any failure."""
    cls = find_freezer(freezer, manager) if isinstance(freezer, str) else freezer
    request.work_dir.mkdir(parents=True, exist_ok=True)
    return cls().freeze(request)
