"""The build record (`<stem>.build.json`): what a pipeline needs to sign, deploy or audit
a build, as data. Made here when the image is built, with no reference; the flow
(`hatch_krust.flow`) completes it with where the image was published."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.image import platforms_of

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from hatch_krust.attest import Document
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout

__all__ = ["build_record", "record_bytes"]


def build_record(
    name: str,
    version: str,
    files: tuple[tuple[Path, ...], Path],
    image: tuple[Layout, Descriptor],
    tags: Sequence[str],
    base: tuple[str, str],
    repository: str | None,
    docs: Sequence[Document],
    image_format: str,
) -> dict[str, Any]:
    """The record of a built, not yet published image.

    `files` are what the format installs (at most one file: the executable) and the
    archive; `image` the layout and its index; `base` the base's name and digest ("" for
    scratch); `image_format` the format's name.
    """
    installs, archive = files
    layout, index = image
    base_name, base_digest = base
    platforms = [
        {"platform": str(p), "digest": d.digest, "size": d.size}
        for p, d in platforms_of(layout, index)
    ]
    return {
        "name": name,
        "version": version,
        "index": {"digest": index.digest, "size": index.size, "mediaType": index.media_type},
        "platforms": platforms,
        "tags": list(tags),
        "base": {"name": base_name or "scratch", "digest": base_digest or None},
        "format": image_format,
        "executable": next((_file(path) for path in installs), None),
        "archive": _file(archive),
        "repository": repository,
        "reference": None,
        "attestations": [
            {
                "kind": d.kind,
                "artifactType": d.artifact_type,
                "file": d.filename,
                "sha256": hashlib.sha256(d.data).hexdigest(),
            }
            for d in docs
        ],
    }


def _file(path: Path) -> dict[str, Any]:
    return {"name": path.name, "sha256": sha256_file(path), "size": path.stat().st_size}


def record_bytes(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
