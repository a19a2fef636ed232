"""The files an image carries for scanners, from given facts (pure: no freeze, no tools)."""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import replace
from pathlib import Path

from hatch_krust.attest import BuildFacts, documents
from hatch_krust.attest.scanner_files import scanner_files
from hatch_krust.oci.assemble import ImageOptions, assemble
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout
from hatch_krust.python.metadata import installed_metadata

YAML_METADATA = (
    "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.2\nSummary: YAML parser and emitter\n"
    "License: MIT\n\nYAML is a data serialization format…\n"
)
LIBSSL = {"package": "libssl3", "version": "3.0.15-1~deb12u1", "architecture": "amd64",
          "source": "openssl"}
LIBC = {"package": "libc6", "version": "2.36-9+deb12u9", "architecture": "amd64",
        "source": "glibc"}
BUNDLE = {
    "distributions": [
        {"name": "PyYAML", "version": "6.0.2", "files": []},
        {"name": "yaml-app", "version": "1.2.0", "files": []},
    ],
    "metadata": [
        {"name": "PyYAML", "version": "6.0.2", "dist_info": "PyYAML-6.0.2.dist-info",
         "metadata": YAML_METADATA},
    ],
    "python": {"name": "CPython", "version": "3.11.2", "origin": {
        "prefix": "/usr", "debian": {"package": "libpython3.11", "version": "3.11.2-6+deb12u5",
                                     "architecture": "amd64", "source": "python3.11"}}},
    "native": [
        {"name": "libssl.so.3", "bundled_by": "pyinstaller", "debian": LIBSSL},
        {"name": "libcrypto.so.3", "bundled_by": "pyinstaller", "debian": LIBSSL},
        {"name": "libc.so.6", "bundled_by": "staticx", "debian": LIBC},
        {"name": "libfoo.so.1", "bundled_by": "pyinstaller"},  # dpkg did not know it
    ],
}  # fmt: skip


def test_files_for_scanners_from_the_facts() -> None:
    files = dict(scanner_files(BUNDLE))
    assert list(files) == [
        "/usr/lib/krust/python/PyYAML-6.0.2.dist-info/METADATA",
        "/usr/lib/krust/python/yaml_app-1.2.0.dist-info/METADATA",
        "/var/lib/dpkg/status.d/libc6",
        "/var/lib/dpkg/status.d/libpython3.11",
        "/var/lib/dpkg/status.d/libssl3",
    ]
    # the installed METADATA byte for byte; a minimal one when the freezer had none
    assert files["/usr/lib/krust/python/PyYAML-6.0.2.dist-info/METADATA"] == (
        YAML_METADATA.encode()
    )
    assert files["/usr/lib/krust/python/yaml_app-1.2.0.dist-info/METADATA"] == (
        b"Metadata-Version: 2.1\nName: yaml-app\nVersion: 1.2.0\n"
    )
    assert files["/var/lib/dpkg/status.d/libssl3"] == (
        b"Package: libssl3\nStatus: install ok installed\nSource: openssl\n"
        b"Version: 3.0.15-1~deb12u1\nArchitecture: amd64\n"
    )
    # dpkg leaves Source out when it is the package's own name
    same = {**BUNDLE, "native": [{"name": "x", "debian": {**LIBC, "source": "libc6"}}],
            "python": {}}  # fmt: skip
    assert dict(scanner_files(same))["/var/lib/dpkg/status.d/libc6"] == (
        b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u9\n"
        b"Architecture: amd64\n"
    )
    assert scanner_files(BUNDLE) == scanner_files(json.loads(json.dumps(BUNDLE)))
    assert scanner_files({}) == []


def test_a_metadata_of_another_version_is_not_used() -> None:
    stale = {**BUNDLE, "metadata": [{**BUNDLE["metadata"][0], "version": "5.4"}]}  # type: ignore[index]
    files = dict(scanner_files(stale))
    assert files["/usr/lib/krust/python/PyYAML-6.0.2.dist-info/METADATA"] == (
        b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.2\n"
    )


def test_installed_metadata_is_read_as_installed(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for name, text in (
        ("PyYAML-6.0.2.dist-info", YAML_METADATA.replace("\n", "\r\n")),  # bytes kept
        ("pip-24.0.dist-info", "Metadata-Version: 2.1\nName: pip\nVersion: 24.0\n"),
        ("broken-1.0.dist-info", None),
    ):
        (site / name).mkdir(parents=True)
        if text is not None:
            (site / name / "METADATA").write_bytes(text.encode())
    found = installed_metadata(tmp_path, [{"name": "pyyaml", "version": "6.0.2"},
                                          {"name": "broken", "version": "1.0"}])  # fmt: skip
    assert found == [{
        "name": "PyYAML", "version": "6.0.2", "dist_info": "PyYAML-6.0.2.dist-info",
        "metadata": YAML_METADATA.replace("\n", "\r\n"),
    }]  # fmt: skip


def facts() -> BuildFacts:
    return BuildFacts(name="yaml-app", version="1.2.0", script="yaml-app",
                      executable_path="/app/yaml-app", executable_sha256="0" * 64,
                      executable_size=1, platform="linux/amd64", epoch=0,
                      builder_version="0.1.0", bundle=BUNDLE,
                      scanner_files=tuple(scanner_files(BUNDLE)))  # fmt: skip


def test_the_sboms_list_the_files_for_scanners() -> None:
    wanted = {p: hashlib.sha256(d).hexdigest() for p, d in scanner_files(BUNDLE)}
    cdx = json.loads(documents(facts(), "cyclonedx", "s")[0].data)
    main = cdx["metadata"]["component"]["properties"]
    listed = dict(
        p["value"].split(" sha256:") for p in main if p["name"] == "hatch-krust:scanner-metadata"
    )
    assert listed == wanted
    # metadata for scanners, not software: no component of the document is one of them
    names = [c["name"] for c in cdx["components"]]
    names += [f["name"] for c in cdx["components"] for f in c.get("components", [])]
    assert not [n for n in names if n.startswith("/var/lib/dpkg/") or n in wanted], names
    spdx = json.loads(documents(facts(), "spdx", "s")[0].data)
    files = {f["fileName"]: f for f in spdx["files"]}
    for path, sha256 in wanted.items():
        checksums = {c["algorithm"]: c["checksumValue"] for c in files[f".{path}"]["checksums"]}
        assert checksums["SHA256"] == sha256
        assert {"spdxElementId": files[f".{path}"]["SPDXID"], "relationshipType": "METAFILE_OF",
                "relatedSpdxElement": "SPDXRef-Executable"} in spdx["relationships"]  # fmt: skip


def test_the_files_are_a_layer_of_their_own_below_the_executable(tmp_path: Path) -> None:
    executable = tmp_path / "hello"
    executable.write_bytes(b"\x7fELF not really")
    digests = []
    for run in ("a", "b"):
        layout = Layout.create(tmp_path / run)
        options = ImageOptions(name="hello", platform=Platform("linux", "amd64"), epoch=7,
                               metadata_files=tuple(scanner_files(BUNDLE)))  # fmt: skip
        index = assemble(None, executable, options, layout)
        digests.append(index.digest)
        manifest = layout.read_json(layout.read_json(index.digest)["manifests"][0]["digest"])
        config = layout.read_json(manifest["config"]["digest"])
    assert digests[0] == digests[1], "deterministic bytes"
    assert len(manifest["layers"]) == len(config["rootfs"]["diff_ids"]) == 2
    assert [h["comment"] for h in config["history"]] == [
        "package metadata for scanners", "/app/hello and runtime files"]  # fmt: skip
    with tarfile.open(layout.blob_path(manifest["layers"][0]["digest"])) as tar:
        members = {m.name: m for m in tar.getmembers()}
        contents = {
            f"/{m.name}": tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in members.values() if m.isreg()
        }  # fmt: skip
    assert contents == dict(scanner_files(BUNDLE))
    assert {m.mode for m in members.values() if m.isreg()} == {0o644}
    assert "app/hello" not in members


def test_a_library_both_freezers_packed_is_listed_once() -> None:
    """PyInstaller and staticx both pack libz.so.1 from the same file: one component (and
    one SPDX package), bundled by both; a different file of the same name stays apart."""
    libz = {"name": "libz.so.1", "path": "/lib/x86_64-linux-gnu/libz.so.1", "sha256": "a" * 64}
    native = [
        {**libz, "bundled_by": "pyinstaller"},
        {**libz, "bundled_by": "staticx"},
        {**libz, "bundled_by": "staticx", "sha256": "b" * 64, "path": "/opt/libz.so.1"},
    ]
    bundle = {**BUNDLE, "native": native}
    made = replace(facts(), bundle=bundle)
    cdx = json.loads(documents(made, "cyclonedx", "s")[0].data)
    listed = [(c["name"], c["hashes"][0]["content"]) for c in cdx["components"]
              if c["name"] == "libz.so.1"]  # fmt: skip
    assert sorted(listed) == [("libz.so.1", "a" * 64), ("libz.so.1", "b" * 64)]
    merged = next(
        c for c in cdx["components"] if c.get("hashes") == [{"alg": "SHA-256", "content": "a" * 64}]
    )
    assert {"name": "hatch-krust:native:bundled-by", "value": "pyinstaller+staticx"} in merged[
        "properties"
    ]
    spdx = json.loads(documents(made, "spdx", "s")[0].data)
    assert [p["name"] for p in spdx["packages"]].count("libz.so.1") == 2


def test_the_zone_layers_package_is_in_the_sbom_and_in_the_files_for_scanners() -> None:
    """The zone database's Debian package: a purl in both SBOMs, and a status.d stanza
    among the files for scanners (the zone layer carries it: tests/oci/test_root_files.py)."""
    tzdata = {"package": "tzdata", "version": "2025b-0+deb12u2", "architecture": "all",
              "source": ""}  # fmt: skip
    zones = {"name": "zoneinfo", "path": "/usr/share/zoneinfo", "sha256": "ab" * 32,
             "bundled_by": "runtime-files", "debian": tzdata}  # fmt: skip
    bundle = {**BUNDLE, "native": [*BUNDLE["native"], zones]}  # type: ignore[list-item]
    files = dict(scanner_files(bundle))
    assert files["/var/lib/dpkg/status.d/tzdata"] == (
        b"Package: tzdata\nStatus: install ok installed\nVersion: 2025b-0+deb12u2\n"
        b"Architecture: all\n"
    )
    zoned = replace(facts(), bundle=bundle, scanner_files=tuple(scanner_files(bundle)))
    cdx = json.loads(documents(zoned, "cyclonedx", "s")[0].data)
    spdx = json.loads(documents(zoned, "spdx", "s")[0].data)
    purls = [c.get("purl", "") for c in cdx["components"]]
    assert "pkg:deb/debian/tzdata@2025b-0%2Bdeb12u2?arch=all" in purls, purls
    refs = [r["referenceLocator"] for p in spdx["packages"] for r in p.get("externalRefs", [])]
    assert "pkg:deb/debian/tzdata@2025b-0+deb12u2?arch=all" in refs, refs
    assert "./var/lib/dpkg/status.d/tzdata" in {f["fileName"] for f in spdx["files"]}
