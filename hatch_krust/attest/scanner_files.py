"""The files an image carries so that scanners see what is inside its static executable.

Syft, Grype and Trivy catalogue an image by the package databases they find in it, not by
the SBOM attached beside it. The executable hides its contents, so the image gets, in a
small layer of its own:

- `/usr/lib/krust/python/<dist-info>/METADATA`: each bundled Python distribution's METADATA
  as it was installed in the freeze environment (Syft's glob is `**/*dist-info/METADATA`);
- `/var/lib/dpkg/status.d/<package>`: one dpkg status stanza per Debian package whose files
  are inside the executable (the C library, OpenSSL, …, and libpython), the way Google's
  distroless images describe themselves.

The zone database layer (hatch_krust.oci.root_files), added while the image is assembled,
carries its own package's stanza (`tzdata`), written by the same `dpkg_stanza`.

A program whose distributions scanners can see (the layered image's venv holds each
one's own `dist-info`) needs only the dpkg stanzas: the format chooses
(`hatch_krust.formats.Bundle.scanner_files`).

Both come from the bundle facts that the SBOM is made from, so the two cannot disagree; the
SPDX SBOM lists these files, the CycloneDX one names them as properties of its main
component (never as components: they are not software). The bytes depend only on those
facts (sorted, no times).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from hatch_krust.attest.facts import normalise_name
from hatch_krust.oci.root_files import DPKG_STATUS_DIR, dpkg_stanza

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DPKG_STATUS_DIR",
    "PYTHON_METADATA_DIR",
    "debian_packages",
    "dpkg_status_files",
    "python_metadata_files",
    "scanner_file_digests",
    "scanner_files",
]

ROLE = "scanner-metadata"  # how the SBOMs mark these files

PYTHON_METADATA_DIR = "/usr/lib/krust/python"


def scanner_files(bundle: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """(absolute path in the image, content) of every file for scanners, sorted by path."""
    return sorted([*python_metadata_files(bundle), *dpkg_status_files(bundle)])


def scanner_file_digests(files: Iterable[tuple[str, bytes]]) -> list[tuple[str, str, str]]:
    """(path, hex sha256, hex sha1) of each file for scanners, for the SBOMs to list."""
    return [
        (
            path,
            hashlib.sha256(data).hexdigest(),
            hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        )
        for path, data in sorted(files)
    ]


def python_metadata_files(bundle: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """One METADATA per bundled distribution: the installed one, else a minimal one."""
    installed = {
        normalise_name(str(m.get("name", ""))): m for m in bundle.get("metadata", []) or []
    }
    out = []
    for dist in bundle.get("distributions", []) or []:
        name, version = str(dist.get("name", "")), str(dist.get("version", ""))
        if not name or not version:
            continue
        found = installed.get(normalise_name(name))
        if found is not None and str(found.get("version", "")) == version:
            directory, text = str(found["dist_info"]), str(found["metadata"])
        else:
            directory = f"{name.replace('-', '_')}-{version}.dist-info"
            text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        out.append((f"{PYTHON_METADATA_DIR}/{directory}/METADATA", text.encode("utf-8")))
    return sorted(out)


def debian_packages(bundle: Mapping[str, Any]) -> list[dict[str, str]]:
    """The Debian packages (package, version, architecture, source) whose files are in the
    image: the native libraries' and the Python runtime's, and what assembling added
    (the zone database's `tzdata`, whose stanza its own layer carries), one each, by name."""
    found: dict[str, dict[str, str]] = {}
    origins = [n.get("debian") for n in bundle.get("native", []) or []]
    origins.append(((bundle.get("python") or {}).get("origin") or {}).get("debian"))
    for debian in origins:
        if isinstance(debian, dict) and debian.get("package") and debian.get("version"):
            found.setdefault(str(debian["package"]), {k: str(v) for k, v in debian.items()})
    return [found[k] for k in sorted(found)]


def dpkg_status_files(bundle: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """`/var/lib/dpkg/status.d/<package>`, one dpkg status stanza each."""
    return [
        (f"{DPKG_STATUS_DIR}/{p['package']}", dpkg_stanza(p).encode("utf-8"))
        for p in debian_packages(bundle)
    ]
