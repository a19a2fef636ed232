"""`hatch-krust merge`: join per-platform images built on different machines into one index.

Each source (a registry reference, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]`) is copied
into one temporary layout, its platforms are joined by `oci.merge.merge_indexes`, and the
result goes to the destination: pushed by digest and then tagged, or written as a layout.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.merge import merge_indexes
from hatch_krust.oci.reference import Reference
from hatch_krust.registry.api import copy, push_layout
from hatch_krust.registry.locations import LayoutLocation, parse_location

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.registry.options import Options

__all__ = ["merge"]


def merge(
    destination: str,
    sources: Sequence[str],
    *,
    tags: Sequence[str] = (),
    options: Options | None = None,
) -> str:
    """Merge `sources` into `destination`; return `HOST/REPO@sha256:…` or `oci…@sha256:…`."""
    if len(sources) < 2:
        message = "merge needs at least two sources (one per platform) to join"
        raise ImageError(message)
    dest = parse_location(destination)
    with tempfile.TemporaryDirectory(prefix="krust-merge-") as tmp:
        layout = Layout.create(Path(tmp) / "layout")
        roots = []
        for number, source in enumerate(sources):
            tag = f"source-{number}"
            copy(source, LayoutLocation(layout.root, tag, archive=False), options=options)
            roots.append(layout.resolve(tag))
        merged = merge_indexes(layout, roots)
        if isinstance(dest, Reference):
            digest = push_layout(layout, merged, dest, tags, options=options)
            return f"{dest.name}@{digest}"
        layout.add_manifest(merged, "merged")
        copy(LayoutLocation(layout.root, "merged", archive=False), dest, tags=tags, options=options)
        return f"{dest}@{merged.digest}"
