"""Publishing a built image: the second of the two steps (ko's `publish.Interface`).

    built = build_image(...)                       # hatch_krust.building.image
    published = destination.publish(built, reporter)

A destination takes a `BuiltImage` (`hatch_krust.building.built`, all it imports of the
building package) and returns where it went. A registry is one kind
(`hatch_krust.publish.registry.RegistryDestination`); a local container engine is
another (`publish.engine`); one more is one more class with a `publish` method, not a
branch in the build. The flow (`hatch_krust.flow`) picks the destination. A destination
never learns how the image was made; the builder learns of the destination only the
repository name, a plain input that names the image in the archive and the SBOM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.building.built import BuiltImage
    from hatch_krust.progress import Reporter

__all__ = ["Destination", "Published"]


@dataclass(frozen=True)
class Published:
    """Where an image went: its reference by digest, and for each attestation document
    (in the order of `BuiltImage.documents`) what the build record says of its copy
    there (for a registry: the artifact's `digest` and how it is `listedBy`)."""

    reference: str
    attachments: tuple[Mapping[str, str], ...] = ()


class Destination(Protocol):
    """Somewhere a built image can be published."""

    def publish(self, image: BuiltImage, reporter: Reporter) -> Published: ...

