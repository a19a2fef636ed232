"""The CycloneDX 1.6 JSON SBOM of one executable, made with cyclonedx-python-lib.

The document describes the executable (`metadata.component`, with its SHA-256 and its
path in the image) and lists what is inside it: the project, every distribution
PyInstaller packed (with `pkg:pypi` purls, licences and the RECORD hash of each packed
file as nested `file` components), the Python runtime and the native libraries (with
`pkg:deb` purls when dpkg knew their package). The freezer's own tools go under
`metadata.tools`. The timestamp comes from SOURCE_DATE_EPOCH and the serial number from the
content, so the same build gives the same bytes.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from hatch_krust.attest.facts import (
    EXECUTABLE_PROPERTY,
    BuildFacts,
    content_uuid,
    public_prefix,
)

if TYPE_CHECKING:
    from cyclonedx.model.component import Component

__all__ = ["cyclonedx_sbom", "executable_sha256"]

_NIL_SERIAL = "urn:uuid:00000000-0000-0000-0000-000000000000"


def cyclonedx_sbom(facts: BuildFacts) -> bytes:
    """The SBOM as canonical-ish JSON bytes (sorted keys, two-space indent, final newline)."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom()
    bom.metadata.timestamp = datetime.fromtimestamp(facts.epoch or 0, tz=timezone.utc)
    executable = _executable(facts)
    bom.metadata.component = executable
    for name, version in facts.freezer_tools.items():
        bom.metadata.tools.components.add(_tool(name, version))
    bom.metadata.tools.components.add(_tool("hatch-krust", facts.builder_version))
    contents = [_project(facts), *(_library(d) for d in facts.dependencies)]
    if facts.python:
        contents.append(_runtime(facts.python))
    contents += [_native(n) for n in facts.native]
    for component in contents:
        bom.components.add(component)
    bom.register_dependency(executable, contents)
    text = JsonV1Dot6(bom).output_as_string(indent=None)
    document = json.loads(text)
    document["serialNumber"] = _NIL_SERIAL
    serial = content_uuid(_dump(document))
    document["serialNumber"] = f"urn:uuid:{serial}"
    return _dump(document)


def _dump(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def executable_sha256(document: dict[str, Any]) -> tuple[str, str]:
    """(path in the image, hex sha256) that a CycloneDX SBOM records for the executable."""
    component = document.get("metadata", {}).get("component", {})
    digest = next(
        (h.get("content", "") for h in component.get("hashes", []) if h.get("alg") == "SHA-256"),
        "",
    )
    path = next(
        (p.get("value", "") for p in component.get("properties", [])
         if p.get("name") == EXECUTABLE_PROPERTY),
        "",
    )
    return str(path), str(digest)


def _sha256(hexdigest: str) -> list[Any]:
    from cyclonedx.model import HashAlgorithm, HashType

    return [HashType(alg=HashAlgorithm.SHA_256, content=hexdigest)] if hexdigest else []


def _properties(values: dict[str, str]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=k, value=v) for k, v in sorted(values.items()) if v]


def _licences(expression: str) -> list[Any]:
    if not expression:
        return []
    try:
        from cyclonedx.contrib.license.factories import LicenseFactory
    except ImportError:  # cyclonedx-python-lib before 11.12
        from cyclonedx.factory.license import LicenseFactory  # type: ignore[no-redef,unused-ignore]
    return [LicenseFactory().make_from_string(expression)]


def _purl(kind: str, name: str, version: str, **qualifiers: str) -> Any:
    from packageurl import PackageURL

    namespace = None
    if kind == "deb":
        namespace = "debian"
    return PackageURL(
        type=kind, namespace=namespace, name=name, version=version or None,
        qualifiers={k: v for k, v in qualifiers.items() if v} or None,
    )


def _executable(facts: BuildFacts) -> Component:
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.APPLICATION,
        name=facts.script,
        version=facts.version,
        bom_ref="executable",
        description=facts.program_description,
        hashes=_sha256(facts.executable_sha256),
        properties=[
            *_properties({
                EXECUTABLE_PROPERTY: facts.executable_path,
                "hatch-krust:platform": facts.platform,
                "hatch-krust:image:base:name": facts.base_name,
                "hatch-krust:image:base:digest": facts.base_digest,
            }),
            *_scanner_files(facts),
        ],
    )


def _scanner_files(facts: BuildFacts) -> list[Any]:
    """The package metadata files the image carries for scanners, as properties of the
    main component (`<path> sha256:<hex>`): they describe the contents, they are not
    components themselves (a scanner would count them as software)."""
    from cyclonedx.model import Property

    from hatch_krust.attest.scanner_files import ROLE, scanner_file_digests

    return [
        Property(name=f"hatch-krust:{ROLE}", value=f"{path} sha256:{sha256}")
        for path, sha256, _sha1 in scanner_file_digests(facts.scanner_files)
    ]


def _tool(name: str, version: str) -> Component:
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.APPLICATION, name=name, version=version,
        bom_ref=f"tool:{name}", purl=_purl("pypi", name, version),
    )


def _files(dist: dict[str, Any], prefix: str) -> list[Component]:
    from cyclonedx.model.component import Component, ComponentType

    return [
        Component(
            type=ComponentType.FILE, name=str(f["path"]), bom_ref=f"{prefix}:{f['path']}",
            hashes=_sha256(str(f.get("sha256", ""))),
        )
        for f in dist.get("files", [])
    ]


def _distribution(dist: dict[str, Any], kind: str) -> Component:
    from cyclonedx.model.component import Component, ComponentType

    purl = _purl("pypi", _pypi_name(str(dist["name"])), str(dist.get("version", "")))
    return Component(
        type=ComponentType.APPLICATION if kind == "project" else ComponentType.LIBRARY,
        name=str(dist["name"]),
        version=str(dist.get("version", "")),
        bom_ref=purl.to_string(),
        purl=purl,
        description=str(dist.get("summary", "")) or None,
        licenses=_licences(str(dist.get("license", ""))),
        components=_files(dist, purl.to_string()),
        properties=_properties({"hatch-krust:role": kind}),
    )


def _project(facts: BuildFacts) -> Component:
    project = facts.project
    project.setdefault("license", facts.licenses)
    if not project.get("license"):
        project["license"] = facts.licenses
    return _distribution(project, "project")


def _library(dist: dict[str, Any]) -> Component:
    return _distribution(dist, "dependency")


def _pypi_name(name: str) -> str:
    from hatch_krust.attest.facts import normalise_name

    return normalise_name(name)


def _runtime(python: dict[str, Any]) -> Component:
    from cyclonedx.model.component import Component, ComponentType

    origin = python.get("origin", {})
    debian = origin.get("debian")
    name = str(python.get("name", "CPython")).lower()
    purl = (
        _purl("deb", debian["package"], debian["version"], arch=debian.get("architecture", ""))
        if debian
        else _purl("generic", name, str(python.get("version", "")))
    )
    return Component(
        type=ComponentType.PLATFORM,
        name=name,
        version=str(python.get("version", "")),
        bom_ref=f"runtime:{name}",
        purl=purl,
        description="The Python runtime of the image",
        properties=_properties({
            "hatch-krust:runtime:prefix": public_prefix(str(origin.get("prefix", ""))),
            "hatch-krust:runtime:builder": str(origin.get("builder", "")),
            "hatch-krust:runtime:debian-package": debian["package"] if debian else "",
        }),
    )


def _native(library: dict[str, Any]) -> Component:
    from cyclonedx.model.component import Component, ComponentType

    debian = library.get("debian")
    purl = (
        _purl("deb", debian["package"], debian["version"], arch=debian.get("architecture", ""))
        if debian
        else None
    )
    return Component(
        type=ComponentType.LIBRARY,
        name=str(library["name"]),
        version=debian["version"] if debian else None,
        bom_ref=f"native:{library['bundled_by']}:{library['name']}",
        purl=purl,
        hashes=_sha256(str(library.get("sha256", ""))),
        properties=_properties({
            "hatch-krust:native:path": str(library.get("path", "")),
            "hatch-krust:native:bundled-by": str(library.get("bundled_by", "")),
            "hatch-krust:native:debian-package": debian["package"] if debian else "",
        }),
    )
