"""A reporter (hatch_krust.progress.Reporter) for tests: it keeps every line it is told."""

from __future__ import annotations


class Heard:
    """What a build said, in order (`lines`), at the default verbosity."""

    verbosity = 0

    def __init__(self) -> None:
        self.lines: list[str] = []

    def display_info(self, message: str = "", **_: object) -> None:
        self.lines.append(message)

    display_waiting = display_success = display_info

    def display_debug(self, message: str = "", level: int = 1, **_: object) -> None:
        self.lines.append(message)
