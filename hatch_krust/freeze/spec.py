"""The freezer seam: a pluggy hookspec so other freezers can be added without touching the build.

A freezer turns a built wheel into one static Linux executable. The default is
PyInstaller --onefile followed by staticx (`hatch_krust.freeze.pyinstaller`). Another
freezer is a module or class with a `krust_register_freezer` hookimpl returning a class
that satisfies `Freezer`, registered under the `hatch_krust.freezers` entry-point group.

The build knows a freezer only through this protocol: its `pins` go into dependency
resolution and the executable cache key, and the user's `freezer_args` reach it as they
are, for it to interpret (PyInstaller appends them to its command line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from hatch_krust.python.interpreter import Interpreter

__all__ = [
    "FreezeRequest",
    "FreezeResult",
    "Freezer",
    "FreezerSpec",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "hatch_krust"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@dataclass(frozen=True)
class FreezeRequest:
    """Everything a freezer needs, as plain values; nothing about images."""

    wheel: Path  # the project's wheel, built by hatchling's WheelBuilder
    dist_name: str  # the distribution name (project.name)
    version: str
    script: str  # the [project.scripts] name; also the executable's name
    entry_point: str  # "package.module:function" (attribute path allowed after the colon)
    python: str  # interpreter to freeze with (path or command)
    work_dir: Path  # fresh, empty, owned by this build; removed afterwards
    # the build's environment variables: the installers and the freezer's tools run with them
    environ: Mapping[str, str] = field(compare=False, repr=False)
    compress: bool = False  # compression inside the executable (staticx xz)
    hidden_imports: tuple[str, ...] = ()
    exclude_modules: tuple[str, ...] = ()
    freezer_args: tuple[str, ...] = ()  # the user's extra arguments, for the freezer's tool
    extras: tuple[str, ...] = ()  # of the project, installed with its wheel
    exclude_entry_point_groups: tuple[str, ...] = ()  # plugins of dependencies not bundled
    source_date_epoch: int | None = None  # when set, the output must be byte-reproducible
    collect: str = "all"  # "all": every installed module and data file; "imports": the graph
    import_check: bool = True  # run the executable's import check (freeze/importcheck.py)
    verbose: bool = False  # stream the tools' own output instead of capturing it
    log: Callable[[str], None] = field(default=lambda _msg: None, compare=False)  # progress lines
    # `python` already probed by the caller (the build does, for its cache key); else the
    # freezer probes it
    interpreter: Interpreter | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FreezeResult:
    executable: Path  # inside request.work_dir; the caller moves it
    # Versions of what made it: {"python": "3.11.7", "pyinstaller": "6.22.3", ...}
    tools: dict[str, str] = field(default_factory=dict)
    # Distributions installed in the freeze environment: {name: version}
    distributions: dict[str, str] = field(default_factory=dict)
    # What is inside the executable, for the bill of materials (JSON-able; see
    # hatch_krust.freeze.bundle): {"distributions": [...], "python": {...}, "native": [...]}.
    # Empty when the freezer does not know.
    bundle: dict[str, Any] = field(default_factory=dict)


class Freezer(Protocol):
    """What the build knows of a freezer. `pins` are the version ranges of the tools it
    installs next to the project (`{"pyinstaller": ">=6.10,<6.23"}`; empty when none):
    resolved with the project's dependencies and part of the executable cache key."""

    name: str
    pins: Mapping[str, str]

    def freeze(self, request: FreezeRequest) -> FreezeResult: ...


class FreezerSpec:
    @hookspec
    def krust_register_freezer(self) -> type[Freezer] | list[type[Freezer]]:  # type: ignore[empty-body]
        """Return one freezer class or a list of them."""
