"""Progress reporting: the one interface every step talks to the user through.

Hatchling's `app` fits it; so does the CLI's own reporter. Messages go to stderr, so the
one stdout line a build prints (docs/cli.md, "For scripts") stays alone.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Reporter"]


class Reporter(Protocol):
    """The part of hatchling's `app` we use."""

    @property
    def verbosity(self) -> int: ...
    def display_info(self, message: str = "", **kwargs: Any) -> None: ...
    def display_waiting(self, message: str = "", **kwargs: Any) -> None: ...
    def display_success(self, message: str = "", **kwargs: Any) -> None: ...
    def display_debug(self, message: str = "", level: int = 1, **kwargs: Any) -> None: ...
