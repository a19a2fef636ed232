"""The installed distributions' own METADATA, kept for scanners.

Scanners (Syft, Grype, Trivy) find Python packages in an image by their `*.dist-info/METADATA`
files. The executable hides those inside PyInstaller's archive, so the image carries a copy
of each bundled distribution's METADATA, byte for byte as it was installed in the freeze
environment. It is read here, at freeze time, and stored with the executable's other facts
(the bundle) so that a build served from the executable cache writes the same files.
"""

from __future__ import annotations

import email.parser
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["installed_metadata"]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_metadata(
    env_root: Path, distributions: Iterable[dict[str, Any]]
) -> list[dict[str, str]]:
    """[{name, version, dist_info, metadata}] for each of `distributions`, sorted by name.

    `dist_info` is the installed directory's name; `metadata` the METADATA text as installed.
    A distribution whose METADATA cannot be read is left out (the image then carries a
    minimal one made from the SBOM's facts, see hatch_krust.attest.scanner_files).
    """
    wanted = {_normalise(str(d.get("name", ""))): d for d in distributions}
    found: dict[str, dict[str, str]] = {}
    for dist_info in sorted(env_root.glob("lib/python*/site-packages/*.dist-info")):
        try:
            text = (dist_info / "METADATA").read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        headers = email.parser.HeaderParser().parsestr(text, headersonly=True)
        key = _normalise(str(headers.get("Name") or ""))
        if key not in wanted or key in found:
            continue
        if str(headers.get("Version") or "") != str(wanted[key].get("version", "")):
            continue
        found[key] = {
            "name": str(headers.get("Name")),
            "version": str(headers.get("Version")),
            "dist_info": dist_info.name,
            "metadata": text,
        }
    return [found[k] for k in sorted(found)]
