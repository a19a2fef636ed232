"""OCI annotations from a project's metadata, and the one time format they use.

Only facts about *this* project go here, so a base image's labels never pose as ours.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["image_annotations", "rfc3339"]


def rfc3339(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch or 0, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_annotations(
    *,
    name: str,
    version: str,
    description: str,
    licenses: str,
    urls: Mapping[str, str],
    revision: str,
    remote: str,
    epoch: int | None,
) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in urls.items()}
    url = lowered.get("homepage") or lowered.get("documentation") or ""
    source = lowered.get("source") or lowered.get("repository") or remote
    annotations = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": rfc3339(epoch),
        "org.opencontainers.image.description": description,
        "org.opencontainers.image.licenses": licenses,
        "org.opencontainers.image.url": url,
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.revision": revision,
    }
    return {k: v for k, v in annotations.items() if v}
