"""BuildFacts: every fact the SBOM and the provenance are made from, as plain values.

Nothing here reads the clock or the network: two builds with the same inputs give the
same facts, so the same documents byte for byte.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ATTESTATION_TYPES",
    "BASE_DIGEST",
    "BUILDER_ID",
    "BUILD_TYPE",
    "CYCLONEDX",
    "EXECUTABLE_PROPERTY",
    "INTOTO",
    "SPDX",
    "BuildFacts",
    "content_uuid",
    "normalise_name",
    "public_prefix",
]

CYCLONEDX = "application/vnd.cyclonedx+json"
SPDX = "application/spdx+json"
INTOTO = "application/vnd.in-toto+json"
ATTESTATION_TYPES = frozenset({CYCLONEDX, SPDX, INTOTO})

BUILDER_ID = "https://github.com/hatch-krust/hatch-krust"
BUILD_TYPE = "https://github.com/hatch-krust/hatch-krust/blob/main/docs/supply-chain.md#build-type-v1"
# Where the documents record the path of the executable inside the image
EXECUTABLE_PROPERTY = "hatch-krust:executable:path"
BASE_DIGEST = "org.opencontainers.image.base.digest"

_UUID_NAMESPACE = uuid.UUID("6f2b1c8e-4a51-5c3e-9d1a-6b7e2f0c4d11")


def normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name (`PyYAML` -> `pyyaml`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def public_prefix(path: str, home: str | None = None) -> str:
    """An interpreter prefix as published: a home directory's path becomes `~` (pyenv's
    `/home/me/.pyenv/versions/3.12.4` is recorded as `~/.pyenv/versions/3.12.4`)."""
    home = (home if home is not None else str(Path.home())).rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def content_uuid(content: bytes) -> uuid.UUID:
    """A UUID derived from content (never random), for serial numbers."""
    return uuid.uuid5(_UUID_NAMESPACE, hashlib.sha256(content).hexdigest())


@dataclass(frozen=True)
class BuildFacts:
    """One platform image's build: the executable, what is in it, and how it was made.

    `bundle` is FreezeResult.bundle; `tools` the freezer's versions; digests are hex
    sha256 unless named `*_digest` (then `sha256:<hex>`).
    """

    name: str  # the distribution name (project.name)
    version: str
    script: str  # the executable's name
    executable_path: str  # inside the image: /app/<script>
    executable_sha256: str
    executable_size: int
    platform: str  # linux/amd64
    epoch: int | None
    builder_version: str  # hatch-krust's version
    licenses: str = ""
    description: str = ""
    bundle: dict[str, Any] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    wheel_name: str = ""
    wheel_sha256: str = ""  # the wheel file
    base_name: str = ""  # empty for scratch
    base_digest: str = ""
    git_revision: str = ""
    git_dirty: bool = False
    git_remote: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # externalParameters
    image_name: str = ""  # repository (or project name when not pushed)
    manifest_digest: str = ""  # the platform image manifest, the attachments' subject
    # The format's own layers, bottom first: (name, diff_id "sha256:<hex>"); often none
    layers: tuple[tuple[str, str], ...] = ()
    # What the program is, in the documents' words (the format says)
    program_kind: str = "Static executable"
    # (path in the image, content) of the files that tell scanners what is inside
    scanner_files: tuple[tuple[str, bytes], ...] = ()

    @property
    def program_description(self) -> str:
        """What the documents' main component is (the static executable, the layered
        image's console script, ...)."""
        return f"{self.program_kind} of {self.name} {self.version} ({self.platform})"

    @property
    def project(self) -> dict[str, Any]:
        """The project's own distribution from the bundle (files packed), or a bare one."""
        wanted = normalise_name(self.name)
        for dist in self.bundle.get("distributions", []):
            if normalise_name(str(dist.get("name", ""))) == wanted:
                return dict(dist)
        return {"name": self.name, "version": self.version, "license": self.licenses, "files": []}

    @property
    def dependencies(self) -> list[dict[str, Any]]:
        """Bundled distributions other than the project, sorted by normalised name."""
        wanted = normalise_name(self.name)
        return [
            dict(d)
            for d in self.bundle.get("distributions", [])
            if normalise_name(str(d.get("name", ""))) != wanted
        ]

    @property
    def python(self) -> dict[str, Any]:
        return dict(self.bundle.get("python", {}))

    @property
    def native(self) -> list[dict[str, Any]]:
        """The native libraries, one entry per file: PyInstaller and staticx both pack the
        C libraries they need (libz.so.1), and the same bytes are one component, bundled by
        both (`bundled_by` "pyinstaller+staticx")."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        out: list[dict[str, Any]] = []
        for entry in self.bundle.get("native", []):
            library = dict(entry)
            key = (str(library.get("name", "")), str(library.get("sha256", "")))
            same = merged.get(key) if key[1] else None
            if same is None:
                merged[key] = library
                out.append(library)
            elif library["bundled_by"] not in same["bundled_by"].split("+"):
                same["bundled_by"] += f"+{library['bundled_by']}"
        return out

    @property
    def freezer_tools(self) -> dict[str, str]:
        """The tools that made the executable, with versions: pyinstaller, staticx, patchelf."""
        return {
            k: v for k, v in sorted(self.tools.items()) if k not in ("freezer", "python", "glibc")
        }
