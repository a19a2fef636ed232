"""Supply chain: the SBOM and the provenance of each platform image, attached as referrers.

    facts = BuildFacts(...)                       # plain values (facts.py)
    docs = documents(facts, "cyclonedx")          # SBOM (CycloneDX or SPDX) + provenance
    attach(reference, subject, docs)              # OCI 1.1 referrers, or the fallback tag
    report = verify_image("host/repo:tag")        # hatch_krust.attest.verify

Nothing here builds images or freezes: the image target calls `documents` and `attach`;
`hatch-krust verify` and `hatch-krust sbom` call `verify` (see docs/supply-chain.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hatch_krust.attest.facts import CYCLONEDX, INTOTO, SPDX, BuildFacts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.reference import Reference
    from hatch_krust.registry.api import Options, ReferrersResult

__all__ = ["SBOM_FORMATS", "BuildFacts", "Document", "attach", "documents"]

SBOM_FORMATS = ("cyclonedx", "spdx")
_TITLE = "org.opencontainers.image.title"
_CREATED = "org.opencontainers.image.created"


@dataclass(frozen=True)
class Document:
    """One attachment: its artifact type, its file name in dist/krust/ and its bytes."""

    kind: str  # "sbom" or "provenance"
    artifact_type: str
    filename: str
    data: bytes
    subject: Descriptor | None = None  # its platform manifest, when not `attach`'s subject


def documents(facts: BuildFacts, sbom: str | None, stem: str) -> list[Document]:
    """The SBOM (unless `sbom` is None) and the provenance, named `<stem>.<suffix>`."""
    from hatch_krust.attest.slsa import provenance_statement

    out = []
    if sbom == "cyclonedx":
        from hatch_krust.attest.cyclonedx import cyclonedx_sbom

        out.append(Document("sbom", CYCLONEDX, f"{stem}.cdx.json", cyclonedx_sbom(facts)))
    elif sbom == "spdx":
        from hatch_krust.attest.spdx import spdx_sbom

        out.append(Document("sbom", SPDX, f"{stem}.spdx.json", spdx_sbom(facts)))
    elif sbom is not None:
        message = f"Unknown SBOM format {sbom!r}; expected one of {', '.join(SBOM_FORMATS)}"
        raise ValueError(message)
    statement = provenance_statement(facts)
    out.append(Document("provenance", INTOTO, f"{stem}.provenance.json", statement))
    return out


def attach(
    reference: Reference,
    subject: Descriptor,
    docs: Sequence[Document],
    *,
    created: str = "",
    options: Options | None = None,
) -> list[ReferrersResult]:
    """Push each document as an artifact whose subject is `subject`, in `reference`'s repo."""
    from hatch_krust.registry.api import Repository

    results = []
    with Repository(reference, options) as repo:
        for doc in docs:
            annotations = {_CREATED: created} if created else {}
            results.append(repo.attach(
                doc.subject or subject, doc.artifact_type, doc.data, annotations=annotations,
                layer_annotations={_TITLE: doc.filename},
            ))
    return results
