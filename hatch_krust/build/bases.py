"""Registry base images, kept in one OCI layout under the user cache directory.

Blobs are content-addressed and verified when pulled, so they are shared by every build
and downloaded once. A base pinned by digest (`…@sha256:…`, the recommended form) is
served from the cache with no network at all once it has been pulled; a base named by
tag is looked up again each build (the tag may have moved), but only blobs the cache lacks
are downloaded. A lock file serialises writers of the layout's `index.json`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hatch_krust.build.cache import file_lock
from hatch_krust.oci.assemble import BaseImage
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.oci.descriptor import Platform
    from hatch_krust.oci.reference import Reference

__all__ = ["CachedBase", "pull_base"]


@dataclass(frozen=True)
class CachedBase:
    image: BaseImage
    base_digest: str  # what `org.opencontainers.image.base.digest` should say
    from_cache: bool  # True when no registry was asked


def pull_base(
    reference: Reference, platform: Platform, cache_root: Path, insecure: tuple[str, ...]
) -> CachedBase:
    from hatch_krust.registry.api import Options, pull_image

    root = cache_root / "bases"
    key = hashlib.sha256(f"{reference}|{platform}".encode()).hexdigest()[:32]
    with file_lock(cache_root / "bases.lock"):
        layout = Layout.create(root)
        record = root / "refs" / f"{key}.json"
        if reference.digest:
            cached = _from_record(layout, record)
            if cached is not None:
                return cached
        options = Options(insecure=frozenset(insecure))
        pulled = pull_image(reference, layout, platform=str(platform), tag=key, options=options)
        descriptor = layout.resolve(key)
        base_digest = pulled.index.digest if pulled.index is not None else pulled.manifest.digest
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"manifest": descriptor.to_json(), "base": base_digest}))
    return CachedBase(BaseImage(layout, descriptor), base_digest, from_cache=False)


def _from_record(layout: Layout, record: Path) -> CachedBase | None:
    """The cached base when its record and every blob it needs are present."""
    try:
        data = json.loads(record.read_text())
        descriptor = Descriptor.from_json(data["manifest"])
        manifest = layout.read_json(descriptor.digest)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    needed = [manifest.get("config", {}), *manifest.get("layers", [])]
    if not all(layout.has_blob(str(blob.get("digest", ""))) for blob in needed):
        return None
    return CachedBase(BaseImage(layout, descriptor), str(data["base"]), from_cache=True)

