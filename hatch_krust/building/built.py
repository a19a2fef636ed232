"""The built-image value: what the building package hands the flow, and all a
destination (`hatch_krust.publish`) learns of a build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from hatch_krust.attest import Document
    from hatch_krust.oci.descriptor import Descriptor, Platform
    from hatch_krust.oci.layout import Layout

__all__ = ["BuiltImage"]


@dataclass(frozen=True)
class BuiltImage:
    """A built image, staged in a work directory and not yet installed or published.

    `subject` is the platform manifest the attestation `documents` are about; `record`
    the build record as data (without a reference); `epoch` the image's creation time;
    `installs` the files the format installs beside the archive; `format` the format's
    name (said in messages and the record, never compared outside `hatch_krust.formats`).
    """

    layout: Layout
    index: Descriptor
    subject: Descriptor
    platform: Platform
    installs: tuple[Path, ...]
    archive: Path
    documents: tuple[Document, ...]
    record: Mapping[str, Any]
    stem: str
    base_name: str
    epoch: int
    format: str
