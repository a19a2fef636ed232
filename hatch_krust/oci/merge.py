"""Join per-platform images or indexes (built on different machines) into one index.

A CI matrix builds linux/amd64 on one runner and linux/arm64 on another; the merged index is
what users pull. Two entries for the same platform are refused: one of them would be silently
unreachable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.image import Index, platforms_of, write_index
from hatch_krust.oci.mediatypes import DOCKER_LIST, DOCKER_MANIFEST, INDEX_TYPES, OCI_INDEX

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.oci.descriptor import Platform
    from hatch_krust.oci.layout import Layout

__all__ = ["merge_indexes"]


def merge_indexes(layout: Layout, descriptors: Sequence[Descriptor]) -> Descriptor:
    """One index holding every platform manifest of `descriptors` (indexes or manifests)."""
    if not descriptors:
        message = "Nothing to merge: give at least one image or index"
        raise ImageError(message)
    entries: list[Descriptor] = []
    seen: dict[Platform, str] = {}
    for source in descriptors:
        for platform, entry in platforms_of(layout, source):
            if platform in seen:
                message = (
                    f"Platform {platform} appears twice: in {seen[platform]} and in"
                    f" {source.digest}; merge images of different platforms only"
                )
                raise ImageError(message)
            seen[platform] = source.digest
            entries.append(_with_platform(entry, platform))
    all_docker = all(e.media_type == DOCKER_MANIFEST for e in entries)
    media_type = DOCKER_LIST if all_docker else OCI_INDEX
    return write_index(
        layout, Index(media_type, tuple(entries), _common_annotations(layout, descriptors))
    )


def _with_platform(entry: Descriptor, platform: Platform) -> Descriptor:
    return Descriptor(entry.media_type, entry.digest, entry.size, dict(entry.annotations), platform)


def _common_annotations(layout: Layout, descriptors: Sequence[Descriptor]) -> dict[str, str]:
    """Annotations that every source index document carries with the same value."""
    found = [_annotations(layout, d) for d in descriptors if d.media_type in INDEX_TYPES]
    if not found:
        return {}
    common = found[0]
    for other in found[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


def _annotations(layout: Layout, index: Descriptor) -> dict[str, str]:
    annotations = layout.read_json(index.digest).get("annotations") or {}
    if not isinstance(annotations, dict):
        message = f"The index {index.digest} has `annotations` that are not an object"
        raise ImageError(message)
    return {str(k): str(v) for k, v in annotations.items()}
