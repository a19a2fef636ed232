"""Attachments as OCI referrers: the tag-schema fallback on Debian's docker-registry (no
referrers API), the API on a fake that has one, and `hatch-krust verify` / `sbom`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatch_krust.attest import Document, attach
from hatch_krust.attest.facts import CYCLONEDX, INTOTO
from hatch_krust.cli import main
from hatch_krust.oci.assemble import ImageOptions, assemble
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.reference import parse_reference
from hatch_krust.registry import Options, pull_manifest, push_layout
from hatch_krust.registry.client import Registry
from hatch_krust.registry.referrers import (
    artifact_manifest,
    fallback_tag,
    list_referrers,
    push_referrer,
)
from tests.attest.conftest import NAME, STEM, Built, build, yaml_project
from tests.attest.fake_referrers import ReferrersFake
from tests.infra.registry import RegistryServer

pytestmark = [pytest.mark.slow, pytest.mark.registry]

REPO = f"team/{NAME}"


def platform_manifest(reference: str) -> Descriptor:
    """The (only) platform image of the pushed index."""
    index = pull_manifest(reference)
    return index.children()[0]


def fallback_index(host: str, subject: str) -> dict[str, object]:
    return pull_manifest(f"{host}/{REPO}:{fallback_tag(subject)}").document


def test_push_writes_the_fallback_tag_once(
    pushed: Built, registry: RegistryServer, base_layout: Path, cache_dir: Path, tmp_path: Path
) -> None:
    reference = pushed.stdout.strip()
    assert reference.startswith(f"{registry.host}/{REPO}@sha256:"), pushed.stdout
    assert len(pushed.stdout.splitlines()) == 1
    subject = platform_manifest(reference)
    index = fallback_index(registry.host, subject.digest)
    entries = index["manifests"]
    assert isinstance(entries, list)
    assert sorted(e["artifactType"] for e in entries) == [CYCLONEDX, INTOTO]
    assert len({e["digest"] for e in entries}) == 2
    for entry in entries:  # every artifact names the platform image as its subject
        artifact = pull_manifest(f"{registry.host}/{REPO}@{entry['digest']}").document
        assert artifact["subject"]["digest"] == subject.digest
        assert artifact["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
        assert entry["annotations"]["org.opencontainers.image.created"]
    assert "Attached the sbom and provenance to the linux/amd64 manifest sha256:" in pushed.stderr
    record = json.loads(pushed.file(".build.json").read_text())
    assert {a["digest"] for a in record["attestations"]} == {e["digest"] for e in entries}
    assert {a["listedBy"] for a in record["attestations"]} == {
        f"tag:{fallback_tag(subject.digest)}"
    }

    mark = registry.mark()
    again = build(
        yaml_project(tmp_path, base_layout), cache_dir, KRUST_REPO=f"{registry.host}/team"
    )
    assert again.stdout == pushed.stdout
    assert fallback_index(registry.host, subject.digest) == index  # no duplicates
    log = registry.requests_since(mark)
    # read-modify-write of the fallback tag: read, found listed, not written again
    tag = fallback_tag(subject.digest)
    assert f"GET /v2/{REPO}/manifests/{tag}" in log, log
    assert not [line for line in log if line.startswith("PUT") and tag in line], log


def test_referrers_api_is_used_when_the_registry_has_it() -> None:
    fake = ReferrersFake()
    image, _ = fake.store_image("app/x:1", [b"layer"])
    subject = Descriptor(
        "application/vnd.oci.image.manifest.v1+json", image, len(fake.manifests[image][0])
    )
    sbom = b'{"bomFormat": "CycloneDX"}'
    with Registry(fake.host, fake.options()) as registry:
        artifact = artifact_manifest(subject, CYCLONEDX, sbom)
        result = push_referrer(registry, "app/x", artifact)
        again = push_referrer(registry, "app/x", artifact)
        listed = list_referrers(registry, "app/x", image)
    assert result.api and again.api and result.fallback_tag is None
    assert [d.digest for d in listed] == [artifact.manifest.digest]
    assert listed[0].artifact_type == CYCLONEDX
    assert fallback_tag(image) not in fake.manifests  # no fallback tag written
    puts = [p for p in fake.paths("PUT") if "/manifests/" in p]
    assert all(artifact.manifest.digest in p for p in puts), puts
    assert f"GET /v2/app/x/referrers/{image}" in fake.paths("GET")


def test_fallback_when_the_registry_sends_oci_subject_but_has_no_api() -> None:
    """ECR once sent OCI-Subject without serving the API: the probe decides."""
    fake = ReferrersFake()
    fake.override[("GET", "referrers")] = lambda _r: __import__("httpx").Response(404)
    image, _ = fake.store_image("app/x:1", [b"layer"])
    subject = Descriptor(
        "application/vnd.oci.image.manifest.v1+json", image, len(fake.manifests[image][0])
    )
    with Registry(fake.host, fake.options()) as registry:
        result = push_referrer(registry, "app/x", artifact_manifest(subject, INTOTO, b"{}"))
    assert not result.api and result.fallback_tag == fallback_tag(image)
    assert fallback_tag(image) in fake.manifests


def test_verify_passes_and_sbom_prints_the_document(
    pushed: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = pushed.stdout.strip()
    assert main(["verify", reference]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert out == f"verified {reference}\n"
    assert "executable /app/yaml-app is sha256:" in err
    assert "base digest sha256:" in err
    tag_ref = reference.split("@")[0] + ":latest"
    assert main(["sbom", tag_ref]) == 0
    assert capsys.readouterr().out.encode() == pushed.file(".cdx.json").read_bytes()


def _replace_executable(pushed: Built, tmp_path: Path, host: str) -> Descriptor:
    """A new image under `:latest` whose /app/yaml-app is other bytes; its platform manifest."""
    fake = tmp_path / NAME
    fake.write_bytes(b"#!/bin/sh\necho not the build\n")
    layout = Layout.create(tmp_path / "evil")
    options = ImageOptions(name=NAME, platform=Platform("linux", "amd64"), epoch=1700000000)
    index = assemble(None, fake, options, layout)
    push_layout(layout, index, f"{host}/{REPO}:latest")
    return platform_manifest(f"{host}/{REPO}:latest")


def _documents(pushed: Built) -> list[Document]:
    return [
        Document("sbom", CYCLONEDX, f"{STEM}.cdx.json", pushed.file(".cdx.json").read_bytes()),
        Document(
            "provenance",
            INTOTO,
            f"{STEM}.provenance.json",
            pushed.file(".provenance.json").read_bytes(),
        ),
    ]


def test_verify_fails_when_the_executable_layer_is_replaced(
    pushed: Built,
    registry: RegistryServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag_ref = f"{registry.host}/{REPO}:latest"
    replaced = _replace_executable(pushed, tmp_path, registry.host)
    assert main(["verify", tag_ref]) == 1
    err = capsys.readouterr().err
    assert "no SBOM is attached to this image" in err and "no provenance" in err, err
    # the old documents, re-attached to the new image, no longer match what it holds
    attach(parse_reference(tag_ref), replaced, _documents(pushed))
    assert main(["verify", tag_ref]) == 1
    err = capsys.readouterr().err
    assert "the executable was changed after the build" in err, err
    assert "CycloneDX SBOM" in err and "provenance" in err
    assert "the provenance" in err and "was made for image" in err, err
    # the build itself, by digest, still verifies
    assert main(["verify", pushed.stdout.strip()]) == 0, capsys.readouterr().err


def test_verify_fails_when_an_sbom_is_listed_for_the_wrong_subject(
    pushed: Built,
    registry: RegistryServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An index entry (the fallback tag is writable by anyone who can push) that points at
    another image's SBOM is caught by the artifact's own `subject`."""
    reference = pushed.stdout.strip()
    ours = platform_manifest(reference)
    other = Layout.create(tmp_path / "other")
    (tmp_path / NAME).write_bytes(b"other")
    index = assemble(
        None, tmp_path / NAME, ImageOptions(name=NAME, platform=Platform("linux", "amd64")), other
    )
    push_layout(other, index, f"{registry.host}/{REPO}:other")
    theirs = platform_manifest(f"{registry.host}/{REPO}:other")
    wrong = artifact_manifest(theirs, CYCLONEDX, pushed.file(".cdx.json").read_bytes())
    with Registry(registry.host, Options()) as client:
        push_referrer(client, REPO, wrong)
        # list it under our image too, as a confused or hostile writer would
        tag = fallback_tag(ours.digest)
        current = pull_manifest(f"{registry.host}/{REPO}:{tag}").document
        current["manifests"].append(wrong.descriptor.to_json())
        from hatch_krust.oci.canonical import canonical_json
        from hatch_krust.registry.manifests import parse_manifest, put_manifest

        data = canonical_json(current)
        put_manifest(client, REPO, parse_manifest(data, current["mediaType"], None, "t"), tag)
    assert main(["verify", reference]) == 1
    err = capsys.readouterr().err
    assert f"its subject is {theirs.digest}: it was attached to another image" in err, err
    with Registry(registry.host, Options()) as client:
        listed = list_referrers(client, REPO, ours.digest)
    assert wrong.manifest.digest in [d.digest for d in listed]


def test_an_spdx_build_verifies_and_prints_its_sbom(
    registry: RegistryServer,
    base_layout: Path,
    cache_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    built: Built,
) -> None:
    spdx = build(
        yaml_project(tmp_path, base_layout),
        cache_dir,
        KRUST_SBOM="spdx",
        KRUST_REPO=f"{registry.host}/spdx",
    )
    reference = spdx.stdout.strip()
    assert main(["verify", reference]) == 0, capsys.readouterr().err
    assert "SPDX SBOM" in capsys.readouterr().err
    assert main(["sbom", reference, "--platform", "linux/amd64"]) == 0
    assert capsys.readouterr().out.encode() == spdx.file(".spdx.json").read_bytes()


def test_verify_accepts_a_build_that_turned_the_sbom_off(
    registry: RegistryServer,
    base_layout: Path,
    cache_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    built: Built,
) -> None:
    """`sbom = false` is recorded in the provenance; verify then needs no SBOM, but still
    fails an image whose provenance is missing too."""
    plain = build(
        yaml_project(tmp_path, base_layout),
        cache_dir,
        KRUST_SBOM="false",
        KRUST_REPO=f"{registry.host}/nosbom",
    )
    reference = plain.stdout.strip()
    assert main(["verify", reference]) == 0, capsys.readouterr().err
    assert "no SBOM: the build ran with `sbom = false`" in capsys.readouterr().err
