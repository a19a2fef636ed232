"""Image locations as skopeo names them: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, a registry.

A registry reference may be written with or without `docker://`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hatch_krust.errors import InvalidReference
from hatch_krust.oci.reference import Reference, parse_reference

__all__ = ["LayoutLocation", "Location", "parse_location"]

_UNSUPPORTED = frozenset(
    {"docker-archive", "docker-daemon", "containers-storage", "dir", "tarball", "sif", "ostree"}
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)


@dataclass(frozen=True)
class LayoutLocation:
    """An OCI layout directory (`archive=False`) or a tar of one (`archive=True`)."""

    path: Path
    tag: str | None
    archive: bool

    def __str__(self) -> str:
        kind = "oci-archive" if self.archive else "oci"
        return f"{kind}:{self.path}{':' + self.tag if self.tag else ''}"


Location = Reference | LayoutLocation


def parse_location(text: str) -> Location:
    """Parse a CLI image location; InvalidReference names the fault and the accepted forms."""
    transport, sep, rest = text.partition(":")
    if sep and transport in ("oci", "oci-archive"):
        return _layout(rest, archive=transport == "oci-archive", text=text)
    if text.startswith("docker://"):
        return parse_reference(text.removeprefix("docker://"))
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme or (sep and transport in _UNSUPPORTED):
        name = scheme.group(1) if scheme else transport
        message = (
            f"Unknown or unsupported transport {name!r} in {text[:200]!r}: use a registry "
            "reference (host/repo:tag, optionally docker://…), oci:DIR[:TAG] or "
            "oci-archive:FILE[:TAG]"
        )
        raise InvalidReference(message)
    _refuse_local_path(text)
    return parse_reference(text)


def _refuse_local_path(text: str) -> None:
    """A path the build wrote (`dist/krust/app-1.0.oci.tar`), given without its transport,
    would be looked up as a Docker Hub image; name the transport instead."""
    path = Path(text)
    try:
        if path.is_file():
            kind, transport = "a file", "oci-archive"
        elif (path / "index.json").is_file() and (path / "oci-layout").is_file():
            kind, transport = "an OCI layout", "oci"
        else:
            return
    except (OSError, ValueError):  # a name no file system holds: a reference, then
        return
    message = f"{text!r} is {kind} here, not a registry reference: write {transport}:{text}"
    raise InvalidReference(message)


def _layout(rest: str, *, archive: bool, text: str) -> LayoutLocation:
    path, sep, tag = rest.partition(":")
    if not path:
        message = f"Invalid location {text[:200]!r}: the path is empty"
        raise InvalidReference(message)
    if sep and not _TAG.fullmatch(tag):
        message = f"Invalid location {text[:200]!r}: {tag[:130]!r} is not a valid tag"
        raise InvalidReference(message)
    return LayoutLocation(Path(path), tag or None, archive)
