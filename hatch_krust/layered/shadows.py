"""Files of an upper layer that hide a different file of a lower one.

A project script named like a dependency's program, or two distributions installing the
same file: the image holds only the upper one, and the program that runs is not the one
the reader expects (one build ran a script that exec'd itself forever). The build goes on
(the venv holds the same file), but says which file hides which.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from hatch_krust.layered.layers import _content_digest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.layered.layers import LayerPlan
    from hatch_krust.oci.layer import Entry

__all__ = ["shadowed_files"]


def _describe(entry: Entry, layer: str) -> str:
    origin = f"from {entry.source}" if entry.source is not None else "written by hatch-krust"
    return f"{entry.path} of the {layer} layer ({origin})"


def shadowed_files(layers: Sequence[LayerPlan]) -> list[str]:
    """One warning per file that hides a different one below it (bottom layer first)."""
    counts = Counter(e.path for layer in layers for e in layer.entries if not e.is_dir)
    twice = {path for path, count in counts.items() if count > 1}
    below: dict[str, tuple[Entry, str, str]] = {}
    warnings: list[str] = []
    for layer in layers:
        for entry in layer.entries:
            if entry.path not in twice:
                continue
            content = _content_digest(entry)
            lower = below.get(entry.path)
            if lower is not None and lower[2] != content:
                warnings.append(
                    f"{_describe(entry, layer.name)} hides a different "
                    f"{_describe(lower[0], lower[1])}"
                )
            below[entry.path] = (entry, layer.name, content)
    return warnings
