"""`hatch-krust verify` and `hatch-krust sbom`: read an image's attachments and check them.

For each platform image of REF: list its referrers (API or fallback tag), keep the SBOMs
and provenance statements, and check that
- each attachment's manifest names this image as its `subject` (an index entry can lie);
- the executable digest each document records is the digest of the executable in the
  image's layers (the layers are streamed and the file hashed; nothing is unpacked);
- the base digest the documents record equals the image's
  `org.opencontainers.image.base.digest` annotation (both absent for `scratch`);
- for a layered image, whose "executable" is its console script (`/app/bin/<script>`,
  hashed in the layers as above), the layers the provenance records (name and
  uncompressed digest, bottom first) are the image's top layers, in order: the config's
  `rootfs.diff_ids`, which a runtime checks against each layer's content when it pulls.
Every problem is collected, so one run names them all.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from hatch_krust.attest.facts import (
    ATTESTATION_TYPES,
    BASE_DIGEST,
    CYCLONEDX,
    EXECUTABLE_PROPERTY,
    INTOTO,
    SPDX,
)
from hatch_krust.errors import ImageError, VerificationError
from hatch_krust.oci.canonical import json_object
from hatch_krust.oci.mediatypes import MANIFEST_TYPES

if TYPE_CHECKING:
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.reference import Reference
    from hatch_krust.registry.api import Manifest, Options, Repository

__all__ = ["ImageReport", "VerificationError", "attached_sbom", "verify"]

_MAX_DOCUMENT = 64 << 20
_KINDS = {CYCLONEDX: "CycloneDX SBOM", SPDX: "SPDX SBOM", INTOTO: "provenance"}
_LAYER_SUFFIXES = (".tar", ".tar+gzip", ".tar.gzip", "rootfs.diff.tar.gzip")


@dataclass
class ImageReport:
    """What was checked for one platform image, and what was wrong."""

    digest: str
    platform: str
    attachments: list[str] = field(default_factory=list)  # "<kind> <digest>"
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class _Image:
    """One platform image being verified, with its executable digests hashed on demand."""

    repo: Repository
    manifest: Manifest
    config: dict[str, Any]
    hashed: dict[str, str | None] = field(default_factory=dict)

    @property
    def base_digest(self) -> str:
        return str((self.manifest.document.get("annotations") or {}).get(BASE_DIGEST, ""))

    @property
    def entrypoint(self) -> str:
        entry = (self.config.get("config") or {}).get("Entrypoint") or [""]
        return str(entry[0])

    def executable(self, path: str) -> str | None:
        if path not in self.hashed:
            self.hashed[path] = _hash_in_layers(self, path)
        return self.hashed[path]


def _open(ref: Reference | str, options: Options | None) -> tuple[Reference, Repository]:
    from hatch_krust.oci.reference import parse_reference
    from hatch_krust.registry.api import Repository

    reference = ref if not isinstance(ref, str) else parse_reference(ref)
    return reference, Repository(reference, options)


def _images(repo: Repository, platform: str | None) -> list[tuple[str, Manifest]]:
    """(platform, manifest) of each image REF names (one, or every entry of an index)."""
    from hatch_krust.registry.api import select_platform

    root = repo.manifest(repo.reference.identifier)
    if not root.is_index:
        return [("", root)]
    if platform is not None:
        entry = select_platform(root, platform, str(repo.reference))
        return [(str(entry.platform), repo.manifest(entry.digest))]
    return [
        (str(d.platform or ""), repo.manifest(d.digest))
        for d in root.children()
        if d.media_type in MANIFEST_TYPES
    ]


def verify(
    ref: Reference | str, *, platform: str | None = None, options: Options | None = None
) -> list[ImageReport]:
    """Check every platform image of `ref` (see the module docstring); raise on problems."""
    reference, repo = _open(ref, options)
    with repo:
        reports = [
            _verify_image(repo, manifest, name) for name, manifest in _images(repo, platform)
        ]
    problems = [f"{r.digest}: {p}" for r in reports for p in r.problems]
    if problems:
        message = f"Verification of {reference} failed:\n" + "\n".join(
            f"  - {p}" for p in problems
        )
        raise VerificationError(message)
    return reports


def _verify_image(repo: Repository, manifest: Manifest, platform: str) -> ImageReport:
    report = ImageReport(manifest.digest, platform)
    image = _Image(repo, manifest, _read_json(repo, manifest.children()[0]))
    found = [d for d in repo.referrers(manifest.digest) if d.artifact_type in ATTESTATION_TYPES]
    sbom_disabled = False
    for descriptor in found:
        kind = f"{_KINDS[descriptor.artifact_type]} {descriptor.digest[:19]}"
        report.attachments.append(kind)
        document = _attachment(image, descriptor, kind, report)
        if document is not None:
            _check_document(image, descriptor.artifact_type, document, kind, report)
            sbom_disabled |= descriptor.artifact_type == INTOTO and _sbom_disabled(document)
    if not any(d.artifact_type in (CYCLONEDX, SPDX) for d in found):
        if sbom_disabled:  # the build said so in its provenance: not a missing attachment
            report.checks.append("no SBOM: the build ran with `sbom = false`")
        else:
            report.problems.append("no SBOM is attached to this image")
    if not any(d.artifact_type == INTOTO for d in found):
        report.problems.append("no provenance is attached to this image")
    return report


def _sbom_disabled(statement: dict[str, Any]) -> bool:
    """True when the provenance's recorded options turned the SBOM off."""
    build = statement.get("predicate", {}).get("buildDefinition", {})
    options = build.get("externalParameters", {}).get("options", {})
    return isinstance(options, dict) and "sbom" in options and options["sbom"] in (False, None)


def _attachment(
    image: _Image, descriptor: Descriptor, kind: str, report: ImageReport
) -> dict[str, Any] | None:
    """The attachment's document, once its manifest is shown to be about this image."""
    artifact = image.repo.manifest(descriptor.digest)
    subject = str((artifact.document.get("subject") or {}).get("digest", ""))
    if subject != image.manifest.digest:
        report.problems.append(
            f"the {kind} is listed as a referrer of this image, but its subject is "
            f"{subject or 'missing'}: it was attached to another image"
        )
        return None
    report.checks.append(f"{kind}: subject is this image")
    layers = [d for d in artifact.children()[1:] if d.media_type == descriptor.artifact_type]
    if not layers:
        report.problems.append(f"the {kind} has no {descriptor.artifact_type} layer")
        return None
    return _read_json(image.repo, layers[0])


def _check_document(
    image: _Image, artifact_type: str, document: dict[str, Any], kind: str, report: ImageReport
) -> None:
    path, digest, base, manifest = _recorded(artifact_type, document)
    path = path or image.entrypoint
    actual = image.executable(path)
    if actual is None:
        report.problems.append(f"the {kind} names the executable {path}, which is not in the image")
    elif digest != actual:
        report.problems.append(
            f"the {kind} records executable sha256:{digest or '(none)'} but {path} in the "
            f"image's layers is sha256:{actual}: the executable was changed after the build"
        )
    else:
        report.checks.append(f"{kind}: executable {path} is sha256:{actual}")
    if base is not None and base != image.base_digest:
        report.problems.append(
            f"the {kind} records base image {base or '(none)'} but the image's "
            f"{BASE_DIGEST} annotation is {image.base_digest or '(none)'}"
        )
    elif base is not None:
        report.checks.append(f"{kind}: base digest {base or '(scratch)'} matches")
    if artifact_type == INTOTO:
        _check_layers(image, document, kind, report)
    if manifest is not None and manifest != image.manifest.digest:
        report.problems.append(
            f"the {kind} was made for image {manifest}, not this image"
        )


def _check_layers(
    image: _Image, statement: dict[str, Any], kind: str, report: ImageReport
) -> None:
    """The layered format's layers, as the provenance records them, are the image's."""
    from hatch_krust.attest.slsa import recorded_layers

    recorded = recorded_layers(statement)
    if not recorded:
        return
    diff_ids = [str(d) for d in (image.config.get("rootfs") or {}).get("diff_ids") or []]
    top = diff_ids[-len(recorded) :]
    top = [""] * (len(recorded) - len(top)) + top
    for (name, digest), actual in zip(recorded, top, strict=True):
        if digest != actual:
            report.problems.append(
                f"the {kind} records the {name} layer as {digest} but the image has "
                f"{actual or 'no such layer'}: the image's layers were changed after the build"
            )
            return
    names = ", ".join(name for name, _ in recorded)
    report.checks.append(f"{kind}: the layers {names} are the image's")


def _recorded(
    artifact_type: str, document: dict[str, Any]
) -> tuple[str, str, str | None, str | None]:
    """(executable path, hex digest, base digest or None, manifest digest or None)."""
    if artifact_type == CYCLONEDX:
        from hatch_krust.attest.cyclonedx import executable_sha256

        path, digest = executable_sha256(document)
        properties = (document.get("metadata") or {}).get("component", {}).get("properties", [])
        values = {p.get("name"): p.get("value") for p in properties if isinstance(p, dict)}
        return path, digest, str(values.get("hatch-krust:image:base:digest") or ""), None
    if artifact_type == SPDX:
        return (*_spdx_executable(document), None, None)
    from hatch_krust.attest.slsa import recorded_digests

    recorded = recorded_digests(document)
    return (
        recorded.get("executable_path", ""),
        recorded.get("executable", ""),
        recorded.get("base", ""),
        recorded.get("manifest"),
    )


def _spdx_executable(document: dict[str, Any]) -> tuple[str, str]:
    for package in document.get("packages") or []:
        if isinstance(package, dict) and package.get("SPDXID") == "SPDXRef-Executable":
            digest = next(
                (c.get("checksumValue", "") for c in package.get("checksums", [])
                 if c.get("algorithm") == "SHA256"),
                "",
            )
            path = next(
                (t.split("=", 1)[1] for t in package.get("attributionTexts", [])
                 if t.startswith(EXECUTABLE_PROPERTY + "=")),
                "",
            )
            return path, str(digest)
    return "", ""


def _read_json(repo: Repository, descriptor: Descriptor) -> dict[str, Any]:
    data = repo.read_blob(descriptor, _MAX_DOCUMENT)
    return json_object(data, f"Blob {descriptor.digest} in {repo.name}")


def _hash_in_layers(image: _Image, path: str) -> str | None:
    """The sha256 of `path` as the image's layers leave it (top layer first), or None."""
    wanted = path.lstrip("/")
    for layer in reversed(image.manifest.children()[1:]):
        if not layer.media_type.endswith(_LAYER_SUFFIXES):
            continue
        with image.repo.open_blob(layer) as reader:
            digest = _hash_member(reader, wanted)
            while reader.read(1 << 20):  # to the end, so the layer's own digest is checked
                pass
        if digest is not None:
            return digest or None
    return None


def _hash_member(stream: BinaryIO, wanted: str) -> str | None:
    """hex sha256 of member `wanted`; "" when the layer deletes it; None when absent."""
    parent, _, base = wanted.rpartition("/")
    whiteout = f"{parent}/.wh.{base}" if parent else f".wh.{base}"
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in tar:
            name = member.name.removeprefix("./").lstrip("/")
            if name == whiteout:
                return ""
            if name != wanted or not member.isfile():
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                return None
            digest = hashlib.sha256()
            while chunk := extracted.read(1 << 20):
                digest.update(chunk)
            return digest.hexdigest()
    return None


def attached_sbom(
    ref: Reference | str, *, platform: str | None = None, options: Options | None = None
) -> bytes:
    """The SBOM attached to `ref`'s image (an index must have one platform, or `platform`)."""
    reference, repo = _open(ref, options)
    with repo:
        images = _images(repo, platform)
        if len(images) != 1:
            offered = ", ".join(name for name, _ in images) or "none"
            message = f"{reference} has several platform images ({offered}); pass --platform"
            raise ImageError(message)
        manifest = images[0][1]
        for descriptor in repo.referrers(manifest.digest):
            if descriptor.artifact_type not in (CYCLONEDX, SPDX):
                continue
            artifact = repo.manifest(descriptor.digest)
            if (artifact.document.get("subject") or {}).get("digest") != manifest.digest:
                continue
            for layer in artifact.children()[1:]:
                if layer.media_type == descriptor.artifact_type:
                    return repo.read_blob(layer, _MAX_DOCUMENT)
    message = f"No SBOM is attached to {reference} ({manifest.digest})"
    raise ImageError(message)
