"""The OCI content descriptor: what every manifest, index and layout points with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hatch_krust.oci.digest import check_digest

__all__ = ["Descriptor", "Platform"]


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Platform:
        return cls(
            os=str(data.get("os", "")),
            architecture=str(data.get("architecture", "")),
            variant=str(data.get("variant", "")),
            os_version=str(data.get("os.version", "")),
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


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
