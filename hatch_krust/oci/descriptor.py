"""The OCI content descriptor: what every manifest, index and layout points with.

`Platform` lives in `hatch_krust.oci.platform`; it is re-exported here because descriptors
carry one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from hatch_krust.errors import ImageError
from hatch_krust.oci.digest import check_digest, is_digest
from hatch_krust.oci.platform import Platform

__all__ = ["MAX_SIZE", "Descriptor", "DescriptorError", "Platform", "descriptor_list"]

MAX_SIZE = (1 << 63) - 1  # what a Go int64 (registries, runtimes) can hold


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
    def from_json(cls, data: object) -> Descriptor:
        """Parse an untrusted descriptor; DescriptorError says which field is wrong."""
        if not isinstance(data, dict):
            _bad(f"a descriptor is a {type(data).__name__}, not an object")
        digest = _string(data, "digest", required=True)
        if not is_digest(digest):
            _bad(f"invalid digest {digest[:80]!r}")
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
            _bad(f"{digest} has an invalid size {str(size)[:40]!r}")
        platform = data.get("platform")
        if platform is not None and not _platform_ok(platform):
            _bad(f"{digest} has a `platform` that is not an OCI platform object")
        return cls(
            media_type=_string(data, "mediaType"),
            digest=digest,
            size=size,
            annotations=_annotations(data, digest),
            platform=Platform.from_json(platform) if platform is not None else None,
            artifact_type=_string(data, "artifactType"),
            urls=_urls(data, digest),
        )


class DescriptorError(ImageError, ValueError):
    """A descriptor in an untrusted document has the wrong shape."""


def _bad(problem: str) -> NoReturn:
    message = f"Malformed descriptor: {problem}"
    raise DescriptorError(message)


def _string(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        _bad(f"`{key}` is {type(value).__name__}, not a string")
    return value


def _string_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _platform_ok(value: object) -> bool:
    """An object whose os/architecture/variant/os.version are strings and whose
    os.features/features are lists of strings (other keys are ignored)."""
    if not isinstance(value, dict):
        return False
    strings = [value.get(k) for k in ("os", "architecture", "variant", "os.version")]
    lists = [value.get(k) for k in ("os.features", "features")]
    return all(v is None or isinstance(v, str) for v in strings) and all(
        v is None or (isinstance(v, list) and all(isinstance(i, str) for i in v)) for v in lists
    )


def _annotations(data: dict[str, Any], digest: str) -> dict[str, str]:
    annotations = data.get("annotations")
    if annotations is None:
        return {}
    if not _string_map(annotations):
        _bad(f"{digest} has `annotations` that are not an object of strings")
    return dict(annotations)


def _urls(data: dict[str, Any], digest: str) -> tuple[str, ...]:
    urls = data.get("urls")
    if urls is None:
        return ()
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        _bad(f"{digest} has `urls` that are not a list of strings")
    return tuple(urls)


def descriptor_list(document: dict[str, Any], key: str, where: str) -> list[Descriptor]:
    """The descriptors under `key` (`manifests`, `layers`); absent is empty, anything
    but a list of descriptors is an ImageError naming `where`."""
    entries = document.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list):
        message = f"{where} has a `{key}` that is not a list"
        raise ImageError(message)
    try:
        return [Descriptor.from_json(entry) for entry in entries]
    except DescriptorError as exc:
        message = f"{where} has a malformed descriptor in `{key}`: {str(exc).split(': ', 1)[1]}"
        raise ImageError(message) from None
