"""What platforms a source offers, read from its manifests and configs only (no layer),
so `merge` can refuse two images of the same platform before it copies or pushes a byte
of layer data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ImageError
from hatch_krust.oci.canonical import json_object
from hatch_krust.oci.layout import MAX_DEPTH
from hatch_krust.oci.mediatypes import INDEX_TYPES, MANIFEST_TYPES
from hatch_krust.oci.platform import Platform

if TYPE_CHECKING:
    from hatch_krust.registry.endpoints import Source
    from hatch_krust.registry.manifests import Manifest

__all__ = ["read_config", "source_platforms"]

MAX_CONFIG = 4 << 20


def read_config(source: Source, manifest: Manifest) -> Any:
    """An image manifest's config, bounded and verified against its descriptor."""
    from hatch_krust.registry.blobs import CHUNK, VerifyingReader

    descriptor = manifest.children()[0]
    if descriptor.size > MAX_CONFIG:
        message = f"The config of {source.name} is larger than 4 MiB; refused"
        raise ImageError(message)
    with source.blob(descriptor).open() as chunks:
        reader = VerifyingReader(chunks, descriptor, source.name)
        data = b"".join(iter(lambda: reader.read(CHUNK), b""))
    return json_object(data, f"The config of {source.name}")


def source_platforms(source: Source) -> list[Platform]:
    """The image platforms `source` offers (attestation entries, `unknown/unknown`, left
    out), as `oci.image.platforms_of` counts them in a layout."""
    return _platforms(source, source.root(), 0)


def _platforms(source: Source, manifest: Manifest, depth: int) -> list[Platform]:
    if not manifest.is_index:
        return [Platform.from_json(read_config(source, manifest))]
    if depth >= MAX_DEPTH:
        message = f"The index of {source.name} nests indexes more than {MAX_DEPTH} deep; refused"
        raise ImageError(message)
    found: list[Platform] = []
    for entry in manifest.children():
        if entry.media_type in INDEX_TYPES:
            found += _platforms(source, source.manifest(entry), depth + 1)
        elif entry.media_type in MANIFEST_TYPES:
            platform = entry.platform or _platforms(source, source.manifest(entry), depth)[0]
            if platform.os != "unknown":
                found.append(platform)
    return found
