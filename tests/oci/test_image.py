"""The image model: canonical JSON documents and reading a platform out of a layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.image import (
    DOCKER_TYPES,
    OCI_TYPES,
    ImageConfig,
    Index,
    Manifest,
    RunConfig,
    created_timestamp,
    load_image,
    platforms_of,
    write_config,
    write_index,
    write_manifest,
)
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.mediatypes import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST
from tests.oci.images import make_base

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
DIFF = "sha256:" + "1" * 64


def test_created_timestamp():
    assert created_timestamp(None) == "1970-01-01T00:00:00Z"
    assert created_timestamp(0) == "1970-01-01T00:00:00Z"
    assert created_timestamp(1700000000) == "2023-11-14T22:13:20Z"


def test_run_config_round_trip_keeps_unmodelled_fields():
    data = {
        "Entrypoint": ["/app/x"],
        "Cmd": ["serve"],
        "Env": ["A=1"],
        "User": "65532",
        "WorkingDir": "/w",
        "Labels": {"l": "v"},
        "ExposedPorts": {"8080/tcp": {}},
        "StopSignal": "SIGTERM",
    }
    assert RunConfig.from_json(data).to_json() == data


def test_empty_cmd_differs_from_no_cmd():
    assert RunConfig(cmd=()).to_json() == {"Cmd": []}
    assert RunConfig().to_json() == {}


def test_same_documents_give_same_digests(tmp_path: Path):
    layout = Layout.create(tmp_path)
    config = ImageConfig(AMD64, RunConfig(env=("B=2", "A=1"), labels={"z": "1", "a": "2"}), (DIFF,))
    first = write_config(layout, config, OCI_CONFIG)
    again = write_config(layout, ImageConfig.from_json(config.to_json()), OCI_CONFIG)
    assert first == again
    assert layout.read_blob(first.digest).startswith(b'{"architecture":"amd64","config":{')
    layer = Descriptor(OCI_LAYER_GZIP, "sha256:" + "2" * 64, 10)
    manifest = Manifest(OCI_MANIFEST, first, (layer,), {"b": "1", "a": "2"})
    m1 = write_manifest(layout, manifest, AMD64)
    m2 = write_manifest(layout, Manifest.from_json(manifest.to_json()), AMD64)
    assert m1 == m2
    assert m1.platform == AMD64
    index = write_index(layout, Index(OCI_INDEX, (m1,), {"k": "v"}))
    assert layout.read_json(index.digest)["manifests"][0]["platform"] == {
        "architecture": "amd64",
        "os": "linux",
    }


def test_load_image_picks_the_platform_from_an_index(tmp_path: Path):
    make_base(tmp_path, [{"etc/": None}], platforms=(("linux", "amd64"), ("linux", "arm64")))
    layout = Layout.open(tmp_path)
    entry = layout.resolve("base")
    assert {str(p) for p, _ in platforms_of(layout, entry)} == {"linux/amd64", "linux/arm64"}
    image = load_image(layout, entry, ARM64)
    assert image.config.platform == ARM64
    assert image.descriptor.platform == ARM64
    assert image.media_types == OCI_TYPES
    assert len(image.manifest.layers) == 1


def test_load_image_from_a_bare_manifest_with_docker_types(tmp_path: Path):
    make_base(tmp_path, [{"etc/": None}], docker=True, as_index=False)
    layout = Layout.open(tmp_path)
    image = load_image(layout, layout.resolve("base"), AMD64)
    assert image.media_types == DOCKER_TYPES
    assert image.config.diff_ids and image.config.history


def test_missing_platform_names_what_the_base_has(tmp_path: Path):
    make_base(tmp_path, [{}], platforms=(("linux", "arm64"), ("linux", "s390x")))
    layout = Layout.open(tmp_path)
    with pytest.raises(
        ImageError,
        match=r"The base image has no linux/amd64 variant \(it has: linux/arm64, linux/s390x\)",
    ):
        load_image(layout, layout.resolve("base"), AMD64)


def test_a_layer_blob_is_not_an_image(tmp_path: Path):
    layout = Layout.create(tmp_path)
    blob = layout.write_blob(b"x")
    with pytest.raises(ImageError, match="not an image"):
        platforms_of(layout, Descriptor(OCI_LAYER_GZIP, blob, 1))


def test_malformed_manifest_is_an_image_error(tmp_path: Path):
    layout = Layout.create(tmp_path)
    digest, size = layout.write_json({"schemaVersion": 2, "layers": []})
    with pytest.raises(ImageError, match="Malformed image manifest"):
        platforms_of(layout, Descriptor(OCI_MANIFEST, digest, size))
