"""OCI 1.1 referrers: artifacts whose `subject` is another manifest, pushed and listed.

Push: the artifact's blobs go up first, then its manifest by digest. A registry that
processes `subject` answers that PUT with `OCI-Subject: <subject digest>`; since ECR has
sent the header without serving the API (sigstore-js#1183), the API also has to answer
`GET /v2/<name>/referrers/<digest>` with an index before it is trusted. Otherwise the
referrers tag schema is kept: the index tagged `sha256-<hex>` is read, the artifact's
descriptor appended unless already listed, and the index put back (read-modify-write;
two concurrent writers can lose an entry, as the spec warns).

List: the API when it answers 200 (following `Link: <…>; rel="next"`), else the fallback
tag; an absent tag is an empty list. Knows nothing about SBOMs: any artifact type works.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ImageError, RegistryError
from hatch_krust.oci.canonical import canonical_json
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.digest import check_digest, sha256_bytes
from hatch_krust.oci.mediatypes import OCI_EMPTY, OCI_INDEX, OCI_MANIFEST
from hatch_krust.registry.auth import pull_scope
from hatch_krust.registry.blobs import upload_blob
from hatch_krust.registry.client import raise_for_status, read_capped
from hatch_krust.registry.manifests import (
    MAX_MANIFEST,
    Manifest,
    get_manifest,
    parse_manifest,
    put_manifest,
    send_manifest,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from hatch_krust.registry.client import Registry

__all__ = [
    "EMPTY_CONFIG",
    "Artifact",
    "ReferrersResult",
    "artifact_manifest",
    "fallback_tag",
    "list_referrers",
    "push_referrer",
    "referrers_api_supported",
]

# The OCI empty descriptor: `{}`, with its bytes inline as the spec recommends.
EMPTY_CONFIG = Descriptor(OCI_EMPTY, sha256_bytes(b"{}"), 2)
_MAX_PAGES = 100
_TAG_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Artifact:
    """An artifact manifest and the blobs it needs (config and layers), by digest."""

    manifest: Manifest
    blobs: Mapping[str, bytes]

    @property
    def descriptor(self) -> Descriptor:
        """The descriptor a referrers index lists: artifactType and annotations included."""
        document = self.manifest.document
        artifact_type = document.get("artifactType") or document["config"]["mediaType"]
        return Descriptor(
            self.manifest.media_type,
            self.manifest.digest,
            len(self.manifest.data),
            annotations=dict(document.get("annotations") or {}),
            artifact_type=str(artifact_type),
        )


def artifact_manifest(
    subject: Descriptor,
    artifact_type: str,
    content: bytes,
    *,
    annotations: Mapping[str, str] | None = None,
    layer_annotations: Mapping[str, str] | None = None,
) -> Artifact:
    """An OCI 1.1 artifact manifest holding `content` as its one layer, about `subject`."""
    layer = Descriptor(
        artifact_type, sha256_bytes(content), len(content),
        annotations=dict(layer_annotations or {}),
    )
    config = EMPTY_CONFIG.to_json()
    config["data"] = "e30="
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": config,
        "layers": [layer.to_json()],
        "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_json(),
    }
    if annotations:
        document["annotations"] = dict(sorted(annotations.items()))
    data = canonical_json(document)
    manifest = parse_manifest(data, OCI_MANIFEST, None, "the artifact manifest")
    return Artifact(manifest, {EMPTY_CONFIG.digest: b"{}", layer.digest: content})


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: `<alg>-<ref>`, truncated to 32 and 64 characters."""
    algorithm, _, encoded = check_digest(digest).partition(":")
    return _TAG_UNSAFE.sub("-", f"{algorithm[:32]}-{encoded[:64]}")


class _BytesBlob:
    def __init__(self, data: bytes) -> None:
        self.data = data

    @contextlib.contextmanager
    def open(self, offset: int = 0) -> Iterator[Iterator[bytes]]:
        yield iter([self.data[offset:]])


@dataclass(frozen=True)
class ReferrersResult:
    """How an artifact was attached: through the API, or listed under the fallback tag."""

    digest: str
    api: bool
    fallback_tag: str | None  # the tag written (None with the API)
    added: bool  # False when the fallback index already listed it


def push_referrer(registry: Registry, repository: str, artifact: Artifact) -> ReferrersResult:
    """Push `artifact` (blobs, then manifest by digest) and make it findable from its subject."""
    for digest, data in sorted(artifact.blobs.items()):
        descriptor = Descriptor("application/octet-stream", digest, len(data))
        upload_blob(registry, repository, descriptor, _BytesBlob(data))
    subject = str(artifact.manifest.document["subject"]["digest"])
    header = _put_manifest(registry, repository, artifact.manifest)
    if header == subject and referrers_api_supported(registry, repository, subject):
        return ReferrersResult(artifact.manifest.digest, True, None, False)
    tag = fallback_tag(subject)
    added = _add_to_fallback(registry, repository, tag, artifact.descriptor)
    return ReferrersResult(artifact.manifest.digest, False, tag, added)


def _put_manifest(registry: Registry, repository: str, manifest: Manifest) -> str:
    """PUT by digest (always, so the registry answers with `OCI-Subject` if it can)."""
    headers = send_manifest(
        registry, repository, manifest, manifest.digest, kind="artifact manifest"
    )
    return str(headers.get("oci-subject", ""))


def referrers_api_supported(registry: Registry, repository: str, subject: str) -> bool:
    """True when `GET /v2/<name>/referrers/<digest>` answers 200 with an image index."""
    url = f"/v2/{repository}/referrers/{subject}"
    return _referrers_page(registry, repository, url) is not None


def _referrers_page(
    registry: Registry, repository: str, url: str
) -> tuple[Manifest, str | None] | None:
    """One page of the referrers API and the next page's URL; None when unsupported."""
    response = registry.request(
        "GET", url, scopes=(pull_scope(repository),), headers={"Accept": OCI_INDEX},
        stream=True,
    )
    try:
        content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        if response.status_code in (400, 404, 405, 406) or (
            response.status_code == 200 and content_type != OCI_INDEX
        ):
            return None
        raise_for_status(response, f"listing the referrers in {repository}")
        data = read_capped(response, MAX_MANIFEST, timeout=registry.options.document_timeout)
        link = response.headers.get("Link", "")
    finally:
        response.close()
    index = parse_manifest(data, OCI_INDEX, None, f"the referrers of {repository}")
    found = _LINK_NEXT.search(link)
    return index, (found.group(1) if found else None)


def _add_to_fallback(
    registry: Registry, repository: str, tag: str, descriptor: Descriptor
) -> bool:
    """Read-modify-write the fallback index; False when it already lists `descriptor`."""
    index = _fallback_index(registry, repository, tag)
    entries = list(index.get("manifests", [])) if index else []
    if any(e.get("digest") == descriptor.digest for e in entries if isinstance(e, dict)):
        return False
    entries.append(descriptor.to_json())
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    data = canonical_json(document)
    manifest = parse_manifest(data, OCI_INDEX, None, f"the referrers index {tag}")
    put_manifest(registry, repository, manifest, tag)
    return True


def _fallback_index(registry: Registry, repository: str, tag: str) -> dict[str, Any] | None:
    """The document tagged `tag`, None when absent; an error when it is not an index."""
    try:
        manifest = get_manifest(registry, repository, tag)
    except RegistryError as exc:
        if exc.status == 404:
            return None
        raise
    if not manifest.is_index:
        message = (
            f"The referrers tag {tag} in {registry.host}/{repository} names a "
            f"{manifest.media_type}, not an image index; refusing to overwrite it"
        )
        raise ImageError(message)
    return manifest.document


def list_referrers(
    registry: Registry, repository: str, subject: str, artifact_type: str | None = None
) -> list[Descriptor]:
    """The descriptors of `subject`'s referrers: API first, else the fallback tag."""
    check_digest(subject)
    entries: list[dict[str, Any]] = []
    pages = 0
    page = _referrers_page(registry, repository, f"/v2/{repository}/referrers/{subject}")
    if page is None:
        index = _fallback_index(registry, repository, fallback_tag(subject))
        entries = list(index.get("manifests", [])) if index else []
    while page is not None:
        entries += page[0].document.get("manifests", [])
        next_url, pages = page[1], pages + 1
        page = None
        if next_url and pages < _MAX_PAGES:
            page = _referrers_page(registry, repository, next_url)
    found = [Descriptor.from_json(e) for e in entries if isinstance(e, dict)]
    if artifact_type is not None:
        found = [d for d in found if d.artifact_type == artifact_type]
    return list({d.digest: d for d in found}.values())
