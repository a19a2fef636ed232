"""The OCI content descriptor: what every manifest, index and layout points with.

`Platform` lives in `hatch_krust.oci.platform`; it is re-exported here because descriptors
carry one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hatch_krust.oci.digest import check_digest
from hatch_krust.oci.platform import Platform

__all__ = ["Descriptor", "Platform"]


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    platform: Platform | None = None
    artifact_type: str = ""
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_digest(self.digest)
        if self.size < 0:
            message = f"Descriptor {self.digest} has a negative size"
            raise ValueError(message)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        platform = data.get("platform")
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=str(data.get("digest", "")),
            size=int(data.get("size", -1)),
            annotations={str(k): str(v) for k, v in (data.get("annotations") or {}).items()},
            platform=Platform.from_json(platform) if isinstance(platform, dict) else None,
            artifact_type=str(data.get("artifactType", "")),
            urls=tuple(str(u) for u in data.get("urls") or ()),
        )
