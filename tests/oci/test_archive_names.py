"""What the image archive says about itself: its platform manifests in `index.json`, named
after the project, Docker's `manifest.json`, and the pushed index still found by us."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from hatch_krust.oci.archive_names import INDEX_ANNOTATION, image_name
from hatch_krust.oci.assemble import ImageOptions, assemble
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from hatch_krust.oci.merge import merge_indexes

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")
REF_NAME = "org.opencontainers.image.ref.name"
IMAGE_NAME = "io.containerd.image.name"


def build(root: Path, executable: Path, name: str | None = "localhost/hello:1.0") -> Descriptor:
    layout = Layout.create(root)
    index = assemble(None, executable, ImageOptions("hello", AMD64, epoch=1700000000), layout)
    layout.add_manifest(index, "1.0", image_name=name)
    return index


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_image_name_is_the_repository_or_localhost_and_the_version():
    assert image_name(None, "my-app", "1.0.0") == "localhost/my-app:1.0.0"
    assert image_name("ghcr.io/me/my-app", "my-app", "1.0.0") == "ghcr.io/me/my-app:1.0.0"


def test_index_json_lists_the_platform_manifest_named_after_the_project(
    tmp_path: Path, small_executable: Path
):
    index = build(tmp_path / "img", small_executable)
    layout = Layout.open(tmp_path / "img")
    write_archive(layout, tmp_path / "img.tar")
    files = members(tmp_path / "img.tar")
    (entry,) = json.loads(files["index.json"])["manifests"]
    (platform_manifest,) = layout.read_json(index.digest)["manifests"]
    assert entry == {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": platform_manifest["digest"],
        "size": platform_manifest["size"],
        "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {
            REF_NAME: "1.0",
            IMAGE_NAME: "localhost/hello:1.0",
            INDEX_ANNOTATION: index.digest,
        },
    }
    # The index, whose digest is the one pushed, is still in the archive, byte for byte.
    assert files[f"blobs/sha256/{index.digest[7:]}"] == layout.read_blob(index.digest)
    # The working layout is untouched: its index.json still names the index.
    assert [d.digest for d in layout.descriptors()] == [index.digest]


def test_docker_manifest_points_into_the_oci_blobs(tmp_path: Path, small_executable: Path):
    index = build(tmp_path / "img", small_executable, name="docker.io/library/hello:1.0")
    layout = Layout.open(tmp_path / "img")
    write_archive(layout, tmp_path / "img.tar")
    files = members(tmp_path / "img.tar")
    manifest = layout.read_json(layout.read_json(index.digest)["manifests"][0]["digest"])
    layers = [f"blobs/sha256/{layer['digest'][7:]}" for layer in manifest["layers"]]
    assert json.loads(files["manifest.json"]) == [
        {
            "Config": f"blobs/sha256/{manifest['config']['digest'][7:]}",
            "RepoTags": ["hello:1.0"],  # Docker's own short spelling
            "Layers": layers,
        }
    ]
    assert json.loads(files["repositories"]) == {"hello": {"1.0": layers[-1].rpartition("/")[2]}}
    for path in [*layers, json.loads(files["manifest.json"])[0]["Config"]]:
        assert hashlib.sha256(files[path]).hexdigest() == path.rpartition("/")[2]


def test_named_archive_is_byte_identical_across_builds(tmp_path: Path, small_executable: Path):
    for name in ("a", "b"):
        build(tmp_path / name, small_executable)
        write_archive(Layout.open(tmp_path / name), tmp_path / f"{name}.tar", epoch=5)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as tar:
        names = tar.getnames()
    assert names == sorted(names)
    assert {"manifest.json", "repositories", "index.json", "oci-layout"} <= set(names)


@pytest.mark.parametrize("tag", ["1.0", None])
def test_we_read_the_archive_back_as_the_pushed_index(
    tmp_path: Path, small_executable: Path, tag: str | None
):
    index = build(tmp_path / "img", small_executable)
    write_archive(Layout.open(tmp_path / "img"), tmp_path / "img.tar")
    with open_archive(tmp_path / "img.tar") as extracted:
        found = extracted.resolve(tag)
        assert (found.media_type, found.digest, found.size) == (
            index.media_type,
            index.digest,
            index.size,
        )
        assert found.annotations == {REF_NAME: "1.0", IMAGE_NAME: "localhost/hello:1.0"}


def test_an_entry_whose_index_is_missing_resolves_to_itself(
    tmp_path: Path, small_executable: Path
):
    """A re-archived or hand-edited archive without the index still reads as its image."""
    index = build(tmp_path / "img", small_executable)
    write_archive(Layout.open(tmp_path / "img"), tmp_path / "img.tar")
    with open_archive(tmp_path / "img.tar") as extracted:
        extracted.blob_path(index.digest).unlink()
        found = extracted.resolve("1.0")
    assert found.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert found.annotations[INDEX_ANNOTATION] == index.digest


def test_unnamed_entries_are_archived_as_the_layout_has_them(
    tmp_path: Path, small_executable: Path
):
    """`copy` and `merge` write archives of an index without a name: unchanged, no Docker files."""
    index = build(tmp_path / "img", small_executable, name=None)
    layout = Layout.open(tmp_path / "img")
    write_archive(layout, tmp_path / "img.tar")
    files = members(tmp_path / "img.tar")
    assert "manifest.json" not in files
    assert "repositories" not in files
    assert files["index.json"] == (layout.root / "index.json").read_bytes()
    assert json.loads(files["index.json"])["manifests"][0]["digest"] == index.digest


def test_docker_gets_the_host_platform_of_a_multi_platform_index(
    tmp_path: Path, small_executable: Path, host_platform: Platform
):
    layout = Layout.create(tmp_path / "img")
    built = {
        str(p): assemble(None, small_executable, ImageOptions("hello", p, epoch=0), layout)
        for p in (ARM64, AMD64)
    }
    merged = merge_indexes(layout, list(built.values()))
    layout.add_manifest(merged, "1.0", image_name="localhost/hello:1.0")
    write_archive(layout, tmp_path / "img.tar")
    files = members(tmp_path / "img.tar")
    entries = json.loads(files["index.json"])["manifests"]
    assert sorted(e["platform"]["architecture"] for e in entries) == ["amd64", "arm64"]
    host = next(e for e in entries if e["platform"]["architecture"] == host_platform.architecture)
    config = layout.read_json(host["digest"])["config"]["digest"]
    (item,) = json.loads(files["manifest.json"])
    assert item["Config"] == f"blobs/sha256/{config[7:]}"
    with open_archive(tmp_path / "img.tar") as extracted:
        assert extracted.resolve("1.0").digest == merged.digest
        assert extracted.resolve(None).digest == merged.digest


def test_archive_bytes_members_have_fixed_metadata(tmp_path: Path, small_executable: Path):
    build(tmp_path / "img", small_executable)
    write_archive(Layout.open(tmp_path / "img"), tmp_path / "img.tar", epoch=7)
    with tarfile.open(tmp_path / "img.tar") as tar:
        info = tar.getmember("manifest.json")
        data = io.BytesIO(tar.extractfile(info).read())  # type: ignore[union-attr]
    assert (info.mtime, info.uid, info.gid, info.mode) == (7, 0, 0, 0o644)
    assert info.size == len(data.getvalue())
