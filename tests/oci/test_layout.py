"""The OCI layout: creation, blobs by digest (verified, atomic), tags in index.json."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError, InvalidReference
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import REF_NAME, Layout
from hatch_krust.oci.mediatypes import OCI_INDEX, OCI_MANIFEST


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_create_writes_the_layout_files(tmp_path: Path):
    layout = Layout.create(tmp_path / "img")
    assert json.loads((tmp_path / "img" / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }
    assert layout.index() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    assert (tmp_path / "img" / "blobs" / "sha256").is_dir()


def test_create_on_an_existing_layout_opens_it(tmp_path: Path):
    layout = Layout.create(tmp_path)
    digest = layout.write_blob(b"kept")
    assert Layout.create(tmp_path).read_blob(digest) == b"kept"


def test_create_refuses_a_directory_with_other_content(tmp_path: Path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(ImageError, match="not empty"):
        Layout.create(tmp_path)


def test_open_refuses_a_non_layout(tmp_path: Path):
    with pytest.raises(ImageError, match=r"is not an OCI image layout: no readable `oci-layout`"):
        Layout.open(tmp_path)
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    with pytest.raises(ImageError, match=r"`index\.json` is missing"):
        Layout.open(tmp_path)
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"2.0.0"}')
    with pytest.raises(ImageError, match=r"unsupported version '2\.0\.0'"):
        Layout.open(tmp_path)


@pytest.mark.parametrize(
    "bad",
    [
        "sha256:../../etc/passwd",
        "sha256:" + "A" * 64,
        "md5:" + "0" * 32,
        "../x",
        "sha256:" + "0" * 63,
    ],
)
def test_blob_path_checks_the_digest_grammar(tmp_path: Path, bad: str):
    layout = Layout.create(tmp_path)
    with pytest.raises(InvalidReference, match="Invalid digest"):
        layout.blob_path(bad)


def test_write_and_read_blob(tmp_path: Path):
    layout = Layout.create(tmp_path)
    digest = layout.write_blob(b"hello")
    assert digest == digest_of(b"hello")
    assert layout.has_blob(digest)
    assert layout.blob_path(digest) == tmp_path / "blobs" / "sha256" / digest[7:]
    assert layout.read_blob(digest) == b"hello"
    with layout.open_blob(digest) as f:
        assert f.read() == b"hello"


def test_read_blob_detects_corruption(tmp_path: Path):
    layout = Layout.create(tmp_path)
    digest = layout.write_blob(b"hello")
    layout.blob_path(digest).write_bytes(b"jello")
    with pytest.raises(ImageError, match="does not match its digest"):
        layout.read_blob(digest)


def test_missing_blob_is_a_clear_error(tmp_path: Path):
    layout = Layout.create(tmp_path)
    with pytest.raises(ImageError, match="is missing from the OCI layout"):
        layout.open_blob(digest_of(b"nothing"))


def test_write_blob_from_verifies_size_and_digest(tmp_path: Path):
    layout = Layout.create(tmp_path)
    data = b"x" * 3_000_000
    layout.write_blob_from(io.BytesIO(data), digest_of(data), len(data))
    assert layout.read_blob(digest_of(data)) == data
    other = b"y" * 10
    with pytest.raises(ImageError, match="does not match its digest"):
        layout.write_blob_from(io.BytesIO(other), digest_of(b"z" * 10), 10)
    with pytest.raises(ImageError, match="has 10 bytes, expected 11"):
        layout.write_blob_from(io.BytesIO(other), digest_of(other), 11)
    with pytest.raises(ImageError, match="larger than its declared size 9"):
        layout.write_blob_from(io.BytesIO(other), digest_of(other), 9)
    assert not layout.has_blob(digest_of(other))
    leftovers = [p.name for p in (tmp_path / "blobs" / "sha256").iterdir() if p.name[0] == "."]
    assert leftovers == []


def manifest_descriptor(layout: Layout, body: bytes = b"{}") -> Descriptor:
    return Descriptor(OCI_MANIFEST, layout.write_blob(body), len(body))


def test_add_manifest_and_resolve_by_tag(tmp_path: Path):
    layout = Layout.create(tmp_path)
    first = manifest_descriptor(layout, b'{"a":1}')
    second = manifest_descriptor(layout, b'{"a":2}')
    layout.add_manifest(first, "v1")
    layout.add_manifest(second, "latest")
    assert layout.resolve("v1").digest == first.digest
    assert layout.resolve("latest").annotations[REF_NAME] == "latest"
    layout.add_manifest(first, "latest")  # moves the tag
    assert layout.resolve("latest").digest == first.digest
    assert len(layout.index()["manifests"]) == 2


def test_resolve_errors_name_the_tags(tmp_path: Path):
    layout = Layout.create(tmp_path)
    with pytest.raises(ImageError, match=r"has 0 images; name one with :TAG \(tags: none\)"):
        layout.resolve(None)
    layout.add_manifest(manifest_descriptor(layout, b'{"a":1}'), "v1")
    assert layout.resolve(None).annotations[REF_NAME] == "v1"
    layout.add_manifest(manifest_descriptor(layout, b'{"a":2}'), "v2")
    with pytest.raises(ImageError, match=r"has 2 images; name one with :TAG \(tags: v1, v2\)"):
        layout.resolve(None)
    with pytest.raises(ImageError, match=r"has no image tagged 'v3' \(tags: v1, v2\)"):
        layout.resolve("v3")


def test_index_json_is_canonical(tmp_path: Path):
    layout = Layout.create(tmp_path)
    layout.add_manifest(manifest_descriptor(layout), "t")
    text = (tmp_path / "index.json").read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
