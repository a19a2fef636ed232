"""Manifests and indexes: fetched capped and verified, pushed with their digest checked.

The bytes are the truth: a digest is computed over exactly the bytes received or sent,
never over a re-serialisation. Documents that could be read two ways (CVE-2021-41190)
are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ImageError, PlatformMissing, RegistryError
from hatch_krust.oci.canonical import json_object
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.mediatypes import (
    ALL_MANIFEST_TYPES,
    INDEX_TYPES,
    MANIFEST_ACCEPT,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
)
from hatch_krust.registry.auth import pull_scope, push_scope
from hatch_krust.registry.client import raise_for_status, read_capped

if TYPE_CHECKING:
    from hatch_krust.registry.client import Registry

__all__ = [
    "MAX_MANIFEST",
    "Manifest",
    "get_manifest",
    "head_manifest",
    "parse_manifest",
    "put_manifest",
    "select_platform",
    "send_manifest",
]

MAX_MANIFEST = 4 << 20


@dataclass(frozen=True)
class Manifest:
    """A manifest or index: its exact bytes, parsed document and descriptor."""

    descriptor: Descriptor
    data: bytes
    document: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.descriptor.media_type in INDEX_TYPES

    @property
    def media_type(self) -> str:
        return self.descriptor.media_type

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    def children(self) -> list[Descriptor]:
        """What this document points to: index entries, or config then layers."""
        if self.is_index:
            return [Descriptor.from_json(d) for d in self.document.get("manifests", [])]
        return [Descriptor.from_json(self.document["config"])] + [
            Descriptor.from_json(d) for d in self.document.get("layers", [])
        ]


def parse_manifest(
    data: bytes, content_type: str, expected_digest: str | None, where: str
) -> Manifest:
    """Check and parse manifest bytes; `where` names their origin in error messages."""
    if len(data) > MAX_MANIFEST:
        message = f"The manifest of {where} is larger than 4 MiB; refused"
        raise ImageError(message)
    algorithm = (expected_digest or "sha256:").split(":", 1)[0]
    digest = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    if expected_digest is not None and digest != expected_digest:
        message = (
            f"The manifest of {where} does not match its digest {expected_digest} "
            f"(got {digest})"
        )
        raise ImageError(message)
    document = json_object(data, f"The manifest of {where}")
    media_type = _media_type(document, content_type.split(";", 1)[0].strip(), where)
    _check_shape(document, media_type, where)
    return Manifest(Descriptor(media_type, digest, len(data)), data, document)


def _media_type(document: dict[str, Any], content_type: str, where: str) -> str:
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        message = f"The manifest of {where} has a non-string mediaType"
        raise ImageError(message)
    if declared and content_type in ALL_MANIFEST_TYPES and declared != content_type:
        message = (
            f"The manifest of {where} says it is {declared} but was served as {content_type}; "
            "refused as ambiguous"
        )
        raise ImageError(message)
    media_type = declared or content_type
    if media_type not in ALL_MANIFEST_TYPES:
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
        if document.get("schemaVersion") != 2:
            message = f"The manifest of {where} is of unsupported type {media_type[:100]!r}"
            raise ImageError(message)
    return media_type


def _check_shape(document: dict[str, Any], media_type: str, where: str) -> None:
    has_manifests = "manifests" in document
    has_image = "config" in document or "layers" in document
    if has_manifests and has_image:
        message = f"The manifest of {where} has both `manifests` and `layers`; refused"
        raise ImageError(message)
    if media_type in INDEX_TYPES and not isinstance(document.get("manifests"), list):
        message = f"The index of {where} has no `manifests` list"
        raise ImageError(message)
    if media_type in MANIFEST_TYPES and not isinstance(document.get("config"), dict):
        message = f"The manifest of {where} has no `config`"
        raise ImageError(message)
    try:
        for entry in [*document.get("manifests", []), *document.get("layers", [])] + (
            [document["config"]] if "config" in document else []
        ):
            Descriptor.from_json(entry)
    except (ValueError, TypeError, AttributeError) as exc:
        message = f"The manifest of {where} has a malformed descriptor: {exc}"
        raise ImageError(message) from None


def get_manifest(registry: Registry, repository: str, identifier: str) -> Manifest:
    """GET a manifest by tag or digest, verified (by digest: must match)."""
    where = f"{registry.host}/{repository}{'@' if ':' in identifier else ':'}{identifier}"
    response = registry.request(
        "GET",
        f"/v2/{repository}/manifests/{identifier}",
        scopes=(pull_scope(repository),),
        headers={"Accept": MANIFEST_ACCEPT},
        stream=True,
    )
    try:
        raise_for_status(response, f"fetching the manifest of {where}")
        data = read_capped(response, MAX_MANIFEST, timeout=registry.options.document_timeout)
    except RegistryError as exc:
        if "larger than" in str(exc):
            message = f"The manifest of {where} is larger than 4 MiB; refused"
            raise ImageError(message) from None
        raise
    finally:
        response.close()
    expected = identifier if ":" in identifier else None
    manifest = parse_manifest(data, response.headers.get("Content-Type", ""), expected, where)
    header = response.headers.get("Docker-Content-Digest", "")
    if expected is None and header.startswith("sha256:") and header != manifest.digest:
        message = (
            f"The registry sent {header} as the digest of {where}, but it is {manifest.digest}"
        )
        raise ImageError(message)
    return manifest


def head_manifest(registry: Registry, repository: str, identifier: str, scope: str) -> str | None:
    """The digest the registry has for a tag or digest, or None if it has none."""
    response = registry.request(
        "HEAD",
        f"/v2/{repository}/manifests/{identifier}",
        scopes=(scope,),
        headers={"Accept": MANIFEST_ACCEPT},
    )
    if response.status_code in (404, 403):  # Artifactory says 403 for "not there"
        return None
    raise_for_status(response, f"checking manifest {identifier} in {repository}")
    return response.headers.get("Docker-Content-Digest") or None


def put_manifest(
    registry: Registry, repository: str, manifest: Manifest, identifier: str
) -> None:
    """PUT the exact bytes under a digest or tag; skipped if the registry already has them."""
    if head_manifest(registry, repository, identifier, push_scope(repository)) == manifest.digest:
        return
    send_manifest(registry, repository, manifest, identifier)


def send_manifest(
    registry: Registry,
    repository: str,
    manifest: Manifest,
    identifier: str,
    kind: str = "manifest",
) -> dict[str, str]:
    """PUT the exact bytes under `identifier` (a digest or tag), always; the registry's
    answer's headers (an artifact's `OCI-Subject`). A registry that stores them under
    another digest is refused; `kind` names the manifest in messages."""
    response = registry.request(
        "PUT",
        f"/v2/{repository}/manifests/{identifier}",
        scopes=(push_scope(repository),),
        headers={"Content-Type": manifest.media_type},
        content=manifest.data,
    )
    tagged = f" as {identifier}" if identifier != manifest.digest else ""
    with contextlib.closing(response):
        raise_for_status(response, f"pushing {kind} {manifest.digest}{tagged}", (200, 201))
    header = response.headers.get("Docker-Content-Digest")
    if header and header != manifest.digest:
        message = (
            f"Registry {registry.host} stored {kind} {identifier} under digest {header}, "
            f"not {manifest.digest}"
        )
        raise RegistryError(message)
    return dict(response.headers)


def select_platform(index: Manifest, platform: Platform | str, where: str) -> Descriptor:
    """The entry of `index` for `platform`; a missing variant matches any."""
    wanted = Platform.parse(platform) if isinstance(platform, str) else platform
    candidates = [d for d in index.children() if d.platform is not None]
    for entry in candidates:
        if entry.platform is not None and entry.platform.satisfies(wanted):
            return entry
    offered = tuple(sorted({str(d.platform) for d in candidates}))
    message = f"{where} has no image for platform {wanted} (it has: {', '.join(offered) or 'none'})"
    raise PlatformMissing(message, offered)
