"""Publishing a built image: the second of the two steps (ko's `publish.Interface`).

    built = build_image(...)                       # hatch_krust.building.image: no network
    published = destination.publish(built, reporter)

A destination takes a `BuiltImage` and returns where it went. A registry is one kind
(`hatch_krust.publish.registry.RegistryDestination`); a local container engine or
another format is one more class with a `publish` method, not a branch in the build.
The builder never learns where an image goes, and a destination never learns how it
was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.building.executable import Reporter
    from hatch_krust.building.image import BuiltImage

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

