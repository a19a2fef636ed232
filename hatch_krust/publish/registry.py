"""Publishing to a registry: push the layout, tag it, then attach the attestations as
referrers of the platform image (after the image, so they never point at nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from hatch_krust.publish import Published
from hatch_krust.registry.api import Options

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from hatch_krust.attest import Document
    from hatch_krust.building.built import BuiltImage
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.reference import Reference
    from hatch_krust.progress import Reporter
    from hatch_krust.registry.api import ReferrersResult

__all__ = ["RegistryDestination"]


@dataclass(frozen=True)
class RegistryDestination:
    """`repository` (HOST/REPO, no tag) with `tags`; `insecure` registries may use http."""

    repository: str
    tags: tuple[str, ...]
    insecure: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None  # where credentials are looked up (the config's)
    blob_record: Path | None = field(default=None, compare=False)  # see Options.blob_record

    def _options(self) -> Options:
        return Options(insecure=frozenset(self.insecure), env=dict(self.env) if self.env else None,
                       blob_record=self.blob_record)

    def publish(self, image: BuiltImage, reporter: Reporter) -> Published:
        reference = self._push(image, reporter)
        attachments = self._attach(reference, image, reporter)
        return Published(reference, tuple(attachments))

    def _push(self, image: BuiltImage, reporter: Reporter) -> str:
        from hatch_krust.oci.reference import parse_reference
        from hatch_krust.registry.api import push_layout

        dest = replace(parse_reference(self.repository), tag=None)  # tags come only from `tags`
        reporter.display_waiting(f"Pushing to {self.repository} (tags: {', '.join(self.tags)})")
        digest = push_layout(
            image.layout,
            image.index,
            dest,
            list(self.tags),
            options=self._options(),
            mount_from=_mount_from(image.base_name, dest),
        )
        reference = f"{dest.name}@{digest}"
        reporter.display_success(f"Pushed {reference}")
        return reference

    def _attach(
        self, reference: str, image: BuiltImage, reporter: Reporter
    ) -> Sequence[dict[str, str]]:
        """Push the documents as referrers of `image.subject`; per document, its
        artifact's digest and where it is listed."""
        from hatch_krust.attest import attach
        from hatch_krust.errors import RegistryError
        from hatch_krust.oci.annotations import rfc3339
        from hatch_krust.oci.reference import parse_reference

        docs, subject = image.documents, image.subject
        if not docs:
            return []
        options = self._options()
        try:
            results = attach(
                parse_reference(reference),
                subject,
                docs,
                created=rfc3339(image.epoch),
                options=options,
            )
        except RegistryError as exc:
            message = (
                f"The image was pushed as {reference}, but attaching its SBOM and provenance "
                f"to {subject.digest} failed: {exc}"
            )
            raise RegistryError(message, exc.status) from exc
        for line in _attached(image, docs, results):
            reporter.display_info(line)
        return [
            {"digest": r.digest, "listedBy": "referrers-api" if r.api else f"tag:{r.fallback_tag}"}
            for r in results
        ]


def _attached(
    image: BuiltImage, docs: Sequence[Document], results: Sequence[ReferrersResult]
) -> list[str]:
    """One progress line per platform manifest the documents are attached to."""
    groups: dict[str, tuple[Descriptor, list[str], list[ReferrersResult]]] = {}
    for doc, result in zip(docs, results, strict=True):
        subject = doc.subject or image.subject
        _, kinds, found = groups.setdefault(subject.digest, (subject, [], []))
        kinds.append(doc.kind)
        found.append(result)
    lines = []
    for subject, kinds, found in groups.values():
        platform = image.platform if subject == image.subject else subject.platform
        how = "referrers API" if all(r.api for r in found) else f"tag {found[0].fallback_tag}"
        lines.append(
            f"Attached the {' and '.join(kinds)} to the {platform} manifest {subject.digest} "
            f"(not the index; {how})"
        )
    return lines


def _mount_from(base_name: str, dest: Reference) -> str | None:
    """The base's repository when it is another one on the same registry: its blobs are
    mounted instead of uploaded again."""
    from hatch_krust.oci.reference import parse_reference

    if not base_name or base_name.startswith(("oci:", "oci-archive:")):
        return None
    base = parse_reference(base_name)
    if base.registry == dest.registry and base.repository != dest.repository:
        return base.repository
    return None
