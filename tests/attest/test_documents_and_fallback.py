"""Fast checks of the pieces: the fallback tag's read-modify-write, pagination, the option,
and documents for a freezer that reports nothing about its contents."""

from __future__ import annotations

import json

import httpx
import pytest

from hatch_krust.attest import documents
from hatch_krust.attest.facts import CYCLONEDX, INTOTO, SPDX, BuildFacts
from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError, ImageError
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.registry.client import Registry
from hatch_krust.registry.referrers import (
    artifact_manifest,
    fallback_tag,
    list_referrers,
    push_referrer,
)
from tests.attest.fake_referrers import ReferrersFake
from tests.registry.fake import Fake

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def subject_of(fake: Fake) -> Descriptor:
    digest, data = fake.store_image("app/x:1", [b"layer"])
    return Descriptor(MANIFEST, digest, len(data))


def test_fallback_tag_follows_the_tag_schema() -> None:
    digest = "sha256:" + "ab" * 32
    assert fallback_tag(digest) == "sha256-" + "ab" * 32


def test_fallback_keeps_other_entries_and_adds_each_artifact_once() -> None:
    fake = Fake()  # no referrers API: 404 on the probe, no OCI-Subject
    subject = subject_of(fake)
    with Registry(fake.host, fake.options()) as registry:
        first = push_referrer(registry, "app/x", artifact_manifest(subject, CYCLONEDX, b"{}"))
        second = push_referrer(registry, "app/x", artifact_manifest(subject, INTOTO, b"[]"))
        again = push_referrer(registry, "app/x", artifact_manifest(subject, INTOTO, b"[]"))
        listed = list_referrers(registry, "app/x", subject.digest)
        only_sboms = list_referrers(registry, "app/x", subject.digest, CYCLONEDX)
    assert (first.added, second.added, again.added) == (True, True, False)
    assert not first.api and first.fallback_tag == fallback_tag(subject.digest)
    index = json.loads(fake.manifests[fallback_tag(subject.digest)][0])
    assert [e["artifactType"] for e in index["manifests"]] == [CYCLONEDX, INTOTO]
    assert [d.digest for d in listed] == [first.digest, second.digest]
    assert [d.digest for d in only_sboms] == [first.digest]


def test_a_fallback_tag_that_is_not_an_index_is_left_alone() -> None:
    fake = Fake()
    subject = subject_of(fake)
    image = fake.manifests[subject.digest]
    fake.manifests[fallback_tag(subject.digest)] = image  # someone's image, not an index
    with Registry(fake.host, fake.options()) as registry, pytest.raises(ImageError) as caught:
        push_referrer(registry, "app/x", artifact_manifest(subject, SPDX, b"{}"))
    assert "not an image index; refusing to overwrite it" in str(caught.value)
    assert fake.manifests[fallback_tag(subject.digest)] == image


def test_referrers_pages_are_followed() -> None:
    fake = ReferrersFake()
    subject = subject_of(fake)
    with Registry(fake.host, fake.options()) as registry:
        one = push_referrer(registry, "app/x", artifact_manifest(subject, CYCLONEDX, b"{}"))
        two = push_referrer(registry, "app/x", artifact_manifest(subject, INTOTO, b"{}"))
        entries = fake.referrers[subject.digest]

        def paged(request: httpx.Request) -> httpx.Response:
            page = 1 if "last=" in str(request.url) else 0
            body = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [entries[page]]}
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            if page == 0:
                headers["Link"] = f'</v2/app/x/referrers/{subject.digest}?last=a>; rel="next"'
            return httpx.Response(200, content=json.dumps(body).encode(), headers=headers)

        fake.override[("GET", "referrers")] = paged
        listed = list_referrers(registry, "app/x", subject.digest)
    assert [d.digest for d in listed] == [one.digest, two.digest]


def test_the_sbom_option() -> None:
    assert load_config({}, env={}).sbom == "cyclonedx"
    assert load_config({"sbom": "SPDX"}, env={}).sbom == "spdx"
    assert load_config({"sbom": False}, env={}).sbom is None
    assert load_config({"sbom": "spdx"}, env={"KRUST_SBOM": "off"}).sbom is None
    with pytest.raises(ConfigError, match=r"Field `tool.hatch.build.targets.krust.sbom` must be "
                       r"\"cyclonedx\", \"spdx\", \"none\" or false, not True"):
        load_config({"sbom": True}, env={})
    with pytest.raises(ConfigError, match="Environment variable `KRUST_SBOM` must be"):
        load_config({}, env={"KRUST_SBOM": "syft"})


def bare_facts() -> BuildFacts:
    """What a third-party freezer that reports no contents leaves us with."""
    return BuildFacts(name="demo", version="1.0", script="demo", executable_path="/app/demo",
                      executable_sha256="0" * 64, executable_size=1, platform="linux/arm64",
                      epoch=None, builder_version="0.1.0", licenses="MIT")


def test_documents_without_contents_still_validate() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    cdx, provenance = documents(bare_facts(), "cyclonedx", "demo-1.0")
    assert (cdx.filename, provenance.filename) == ("demo-1.0.cdx.json", "demo-1.0.provenance.json")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx.data.decode()) is None
    assert json.loads(cdx.data)["metadata"]["timestamp"].startswith("1970-01-01T00:00:00")
    assert [d.kind for d in documents(bare_facts(), None, "demo-1.0")] == ["provenance"]
    with pytest.raises(ValueError, match="Unknown SBOM format"):
        documents(bare_facts(), "syft", "demo-1.0")


def test_serial_numbers_follow_the_content() -> None:
    facts = bare_facts()
    first = json.loads(documents(facts, "cyclonedx", "s")[0].data)["serialNumber"]
    assert first == json.loads(documents(facts, "cyclonedx", "s")[0].data)["serialNumber"]
    other = BuildFacts(**{**facts.__dict__, "executable_sha256": "1" * 64})
    assert json.loads(documents(other, "cyclonedx", "s")[0].data)["serialNumber"] != first


def test_spdx_file_ids_stay_unique_when_paths_differ_only_in_underscores() -> None:
    """PyYAML ships `yaml/__init__.py` and `_yaml/__init__.py`: both sanitise to the same id."""
    from hatch_krust.attest.spdx import _distribution

    files = [
        {"path": "_yaml/__init__.py", "sha256": "a" * 64, "sha1": "b" * 40},
        {"path": "yaml/__init__.py", "sha256": "c" * 64, "sha1": "d" * 40},
        {"path": "/etc/app/config.toml", "sha256": "e" * 64, "sha1": "f" * 40},
    ]
    _package, found = _distribution({"name": "PyYAML", "version": "6", "files": files}, "x")
    ids = [f["SPDXID"] for f in found]
    assert len(set(ids)) == 3, ids
    assert found[2]["fileName"] == "./etc/app/config.toml"
