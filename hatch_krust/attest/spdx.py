"""The SPDX 2.3 JSON SBOM of one executable (written directly: the format is small).

The document describes one package, the executable (with its SHA-256), which CONTAINS
the project, each packed distribution (with its packed files, their SHA-1 and the SHA-256
from RECORD), the Python runtime and the native libraries. Timestamps come from
SOURCE_DATE_EPOCH and the namespace from the content, so the same build gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from hatch_krust.attest.facts import (
    EXECUTABLE_PROPERTY,
    BuildFacts,
    content_uuid,
    normalise_name,
    public_prefix,
)
from hatch_krust.oci.annotations import rfc3339

__all__ = ["spdx_sbom"]

_NAMESPACE_BASE = "https://spdx.org/spdxdocs/hatch-krust"
_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]+")
_LICENCE_ID = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")


def spdx_sbom(facts: BuildFacts) -> bytes:
    packages: list[dict[str, Any]] = [_executable(facts)]
    files: list[dict[str, Any]] = []
    relationships = [_rel("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Executable")]
    project = facts.project
    if not project.get("license"):
        project["license"] = facts.licenses
    for role, dist in [("project", project), *(("dependency", d) for d in facts.dependencies)]:
        package, package_files = _distribution(dist, role)
        packages.append(package)
        files += package_files
        relationships.append(_rel("SPDXRef-Executable", "CONTAINS", package["SPDXID"]))
        relationships += [_rel(package["SPDXID"], "CONTAINS", f["SPDXID"]) for f in package_files]
    if facts.python:
        packages.append(_runtime(facts.python))
        relationships.append(_rel("SPDXRef-Executable", "CONTAINS", packages[-1]["SPDXID"]))
    for library in facts.native:
        packages.append(_native(library))
        relationships.append(_rel("SPDXRef-Executable", "CONTAINS", packages[-1]["SPDXID"]))
    for scanner_file in _scanner_files(facts):
        files.append(scanner_file)
        relationships.append(_rel(scanner_file["SPDXID"], "METAFILE_OF", "SPDXRef-Executable"))
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{facts.name}-{facts.version}-{facts.platform.replace('/', '-')}",
        "documentNamespace": "",
        "creationInfo": {
            "created": rfc3339(facts.epoch),
            "creators": [f"Tool: hatch-krust-{facts.builder_version}"]
            + [f"Tool: {k}-{v}" for k, v in facts.freezer_tools.items()],
        },
        "documentDescribes": ["SPDXRef-Executable"],
        "packages": packages,
        "files": files,
        "relationships": relationships,
    }
    document["documentNamespace"] = f"{_NAMESPACE_BASE}/{document['name']}-" + str(
        content_uuid(_dump(document))
    )
    return _dump(document)


def _dump(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _rel(a: str, kind: str, b: str) -> dict[str, str]:
    return {"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b}


def _id(*parts: str) -> str:
    return "SPDXRef-" + "-".join(_ID_CHARS.sub("-", p).strip("-") for p in parts if p)


def _licence(expression: str) -> str:
    """A valid SPDX expression, or NOASSERTION (free text is not an SPDX licence)."""
    expression = expression.strip()
    return expression if expression and _LICENCE_ID.match(expression) else "NOASSERTION"


def _executable(facts: BuildFacts) -> dict[str, Any]:
    return {
        "SPDXID": "SPDXRef-Executable",
        "name": facts.script,
        "versionInfo": facts.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "APPLICATION",
        "checksums": [{"algorithm": "SHA256", "checksumValue": facts.executable_sha256}],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": _licence(facts.licenses),
        "copyrightText": "NOASSERTION",
        "description": facts.program_description,
        "comment": f"{EXECUTABLE_PROPERTY}={facts.executable_path}",
        "attributionTexts": [
            f"{EXECUTABLE_PROPERTY}={facts.executable_path}",
            f"hatch-krust:platform={facts.platform}",
        ],
    }


def _scanner_files(facts: BuildFacts) -> list[dict[str, Any]]:
    """The package metadata files the image carries for scanners (not in the executable)."""
    from hatch_krust.attest.scanner_files import ROLE, scanner_file_digests

    return [
        {
            "SPDXID": _id("File", ROLE, path),
            "fileName": f".{path}",
            "checksums": [
                {"algorithm": "SHA1", "checksumValue": sha1},
                {"algorithm": "SHA256", "checksumValue": sha256},
            ],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "comment": f"hatch-krust:role={ROLE}: package metadata in the image, for scanners",
        }
        for path, sha256, sha1 in scanner_file_digests(facts.scanner_files)
    ]


def _distribution(dist: dict[str, Any], role: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name, version = str(dist["name"]), str(dist.get("version", ""))
    package_id = _id("Package", "pypi", name, version)
    files = [
        {
            "SPDXID": _id("File", name, str(f["path"])),
            "fileName": f"./{str(f['path']).lstrip('/')}",  # extra-files are absolute
            "checksums": [
                {"algorithm": "SHA1", "checksumValue": str(f["sha1"])},
                {"algorithm": "SHA256", "checksumValue": str(f["sha256"])},
            ],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }
        for f in dist.get("files", [])
        if f.get("sha1")
    ]
    _unique_ids(files)
    package: dict[str, Any] = {
        "SPDXID": package_id,
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION" if role == "project" else "LIBRARY",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": _licence(str(dist.get("license", ""))),
        "copyrightText": "NOASSERTION",
        "externalRefs": [_purl_ref(f"pkg:pypi/{normalise_name(name)}@{version}")],
        "filesAnalyzed": bool(files),
    }
    if dist.get("summary"):
        package["summary"] = str(dist["summary"])
    if files:
        package["packageVerificationCode"] = {"packageVerificationCodeValue": _verification(files)}
        package["hasFiles"] = [f["SPDXID"] for f in files]
    return package, files


def _unique_ids(files: list[dict[str, Any]]) -> None:
    """Paths that differ only in characters an SPDX id cannot hold (`yaml/__init__.py`,
    `_yaml/__init__.py`) get a suffix from their whole name."""
    seen: set[str] = set()
    for f in files:
        if f["SPDXID"] in seen:
            f["SPDXID"] += "-" + hashlib.sha256(str(f["fileName"]).encode()).hexdigest()[:12]
        seen.add(f["SPDXID"])


def _verification(files: list[dict[str, Any]]) -> str:
    """SPDX 2.3 §7.9: SHA-1 over the sorted, concatenated SHA-1s of the package's files."""
    sha1s = sorted(str(f["checksums"][0]["checksumValue"]) for f in files)
    return hashlib.sha1("".join(sha1s).encode(), usedforsecurity=False).hexdigest()


def _purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": purl}


def _runtime(python: dict[str, Any]) -> dict[str, Any]:
    origin = python.get("origin", {})
    debian = origin.get("debian")
    name = str(python.get("name", "CPython")).lower()
    version = str(python.get("version", ""))
    package: dict[str, Any] = {
        "SPDXID": _id("Runtime", name, version),
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "FRAMEWORK",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "sourceInfo": f"interpreter prefix {public_prefix(str(origin.get('prefix', '')))}"
        + (f", built with {origin['builder']}" if origin.get("builder") else ""),
    }
    if debian:
        package["externalRefs"] = [_purl_ref(_deb_purl(debian))]
    return package


def _deb_purl(debian: dict[str, str]) -> str:
    arch = f"?arch={debian['architecture']}" if debian.get("architecture") else ""
    return f"pkg:deb/debian/{debian['package']}@{debian['version']}{arch}"


def _native(library: dict[str, Any]) -> dict[str, Any]:
    debian = library.get("debian")
    package: dict[str, Any] = {
        "SPDXID": _id("Native", str(library["bundled_by"]), str(library["name"])),
        "name": str(library["name"]),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "LIBRARY",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "sourceInfo": f"{library.get('path', '')}, bundled by {library['bundled_by']}",
    }
    if library.get("sha256"):
        package["checksums"] = [{"algorithm": "SHA256", "checksumValue": library["sha256"]}]
    if debian:
        package["versionInfo"] = debian["version"]
        package["externalRefs"] = [_purl_ref(_deb_purl(debian))]
    return package
