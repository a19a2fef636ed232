"""Provenance: an in-toto Statement v1 with a SLSA v1 provenance predicate.

Subjects are the executable (by its path in the image) and the platform image manifest.
`externalParameters` are the build's options; `resolvedDependencies` the source (git
commit, and whether the tree was dirty), the wheel, the base image and the freezer's
tools. Unsigned: sign the image digest (cosign, notation) to make it an attestation.
"""

from __future__ import annotations

import json
from typing import Any

from hatch_krust.attest.facts import BUILD_TYPE, BUILDER_ID, BuildFacts
from hatch_krust.oci.annotations import rfc3339

__all__ = ["STATEMENT_TYPE", "provenance_statement", "recorded_digests"]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"


def provenance_statement(facts: BuildFacts) -> bytes:
    subjects = [{"name": facts.executable_path, "digest": {"sha256": facts.executable_sha256}}]
    if facts.manifest_digest:
        subjects.append({
            "name": facts.image_name or facts.name,
            "digest": {"sha256": facts.manifest_digest.removeprefix("sha256:")},
        })
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "project": {"name": facts.name, "version": facts.version},
                    "script": facts.script,
                    "platform": facts.platform,
                    "options": facts.options,
                },
                "internalParameters": {"sourceDateEpoch": facts.epoch},
                "resolvedDependencies": _dependencies(facts),
            },
            "runDetails": {
                "builder": {
                    "id": BUILDER_ID,
                    "version": {"hatch-krust": facts.builder_version},
                },
                "metadata": {
                    "startedOn": rfc3339(facts.epoch),
                    "finishedOn": rfc3339(facts.epoch),
                },
                **_byproducts(facts),
            },
        },
    }
    return (json.dumps(statement, indent=2, sort_keys=True) + "\n").encode()


def _dependencies(facts: BuildFacts) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if facts.git_revision:
        source: dict[str, Any] = {
            "uri": f"git+{facts.git_remote}" if facts.git_remote else "git+file:.",
            "digest": {"gitCommit": facts.git_revision},
            "annotations": {"dirty": facts.git_dirty},
        }
        out.append(source)
    if facts.wheel_sha256:
        out.append({"name": facts.wheel_name or "wheel", "digest": {"sha256": facts.wheel_sha256}})
    if facts.base_digest:
        out.append({
            "name": "base-image",
            "uri": _base_uri(facts.base_name),
            "digest": {"sha256": facts.base_digest.removeprefix("sha256:")},
            "annotations": {"org.opencontainers.image.base.digest": facts.base_digest},
        })
    tools = dict(facts.freezer_tools)
    if facts.python:
        tools["python"] = str(facts.python.get("version", ""))
    for name, version in sorted(tools.items()):
        out.append({"name": name, "uri": f"pkg:pypi/{name}@{version}" if name != "python"
                    else f"pkg:generic/cpython@{version}", "annotations": {"version": version}})
    return out


LAYER_PREFIX = "layer:"


def _byproducts(facts: BuildFacts) -> dict[str, Any]:
    """The format's own layers (if any), by name and uncompressed digest (the diff_id),
    bottom first; `hatch-krust verify` checks them against the image."""
    if not facts.layers:
        return {}
    return {
        "byproducts": [
            {
                "name": LAYER_PREFIX + name,
                "digest": {"sha256": diff_id.removeprefix("sha256:")},
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
            }
            for name, diff_id in facts.layers
        ]
    }


def recorded_layers(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, "sha256:<hex>") of the layers a statement records, bottom first."""
    details = (statement.get("predicate") or {}).get("runDetails") or {}
    out = []
    for item in details.get("byproducts") or []:
        name = str(item.get("name", "")) if isinstance(item, dict) else ""
        if name.startswith(LAYER_PREFIX):
            digest = str((item.get("digest") or {}).get("sha256", ""))
            out.append((name.removeprefix(LAYER_PREFIX), "sha256:" + digest))
    return out


def _base_uri(name: str) -> str:
    """`oci://host/repo:tag` for a registry base; a local one as recorded (`oci:debian:12`)."""
    if not name or name.startswith(("oci:", "oci-archive:")):
        return name
    return f"oci://{name}"


def recorded_digests(statement: dict[str, Any]) -> dict[str, str]:
    """What a statement records: {"executable": hex, "executable_path": ..., "base": sha256:…,
    "manifest": sha256:…}; missing keys when it does not record them."""
    out: dict[str, str] = {}
    subjects = statement.get("subject") or []
    if subjects and isinstance(subjects[0], dict):
        out["executable_path"] = str(subjects[0].get("name", ""))
        out["executable"] = str((subjects[0].get("digest") or {}).get("sha256", ""))
    if len(subjects) > 1 and isinstance(subjects[1], dict):
        out["manifest"] = "sha256:" + str((subjects[1].get("digest") or {}).get("sha256", ""))
    definition = (statement.get("predicate") or {}).get("buildDefinition") or {}
    for dep in definition.get("resolvedDependencies") or []:
        if isinstance(dep, dict) and dep.get("name") == "base-image":
            out["base"] = "sha256:" + str((dep.get("digest") or {}).get("sha256", ""))
    return out
