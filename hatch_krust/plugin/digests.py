"""How a build names its digests. An image has two (three with its attachments): the index,
which `Built the image` prints and which is the one to deploy, and the platform image's
manifest, which skopeo shows and the SBOM and provenance are attached to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hatch_krust.flow import ImageOutcome

__all__ = ["built_line"]


def built_line(outcome: ImageOutcome) -> str:
    """One line: the index digest (to deploy), where the archive is, the platform manifest."""
    platforms = outcome.record.get("platforms", [])
    manifest = ""
    if len(platforms) == 1:
        manifest = f"; its {platforms[0]['platform']} manifest is {platforms[0]['digest']}"
    return (
        f"Built the image {outcome.index_digest} in {outcome.archive} "
        f"(the index: the digest to deploy{manifest})"
    )
