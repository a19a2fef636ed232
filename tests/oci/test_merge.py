"""Merging per-platform images built on different machines into one index."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import ImageOptions, assemble, merge_indexes
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from hatch_krust.oci.mediatypes import DOCKER_LIST, OCI_INDEX
from tests.infra.tools import require_tool
from tests.oci.images import make_base

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")
VERSION = {"org.opencontainers.image.version": "1.0"}


def single(tmp_path: Path, executable: Path, platform: Platform, name: str) -> Path:
    """A per-platform build on 'another machine', shipped as an archive."""
    layout = Layout.create(tmp_path / name)
    index = assemble(None, executable, ImageOptions("hello", platform, annotations=VERSION), layout)
    layout.add_manifest(index, "latest")
    write_archive(layout, tmp_path / f"{name}.tar")
    return tmp_path / f"{name}.tar"


def gather(target: Layout, archives: list[Path]) -> list[Descriptor]:
    """Copy each archive's image into one layout, as a merge command would."""
    found = []
    for archive in archives:
        with open_archive(archive) as source:
            for path in (source.root / "blobs" / "sha256").iterdir():
                digest = f"sha256:{path.name}"
                with path.open("rb") as f:
                    target.write_blob_from(f, digest, path.stat().st_size)
            found.append(source.resolve("latest"))
    return found


def merged_two_platforms(tmp_path: Path, small_executable: Path) -> Layout:
    """Two single-platform archives merged into one index, tagged `latest`, in tmp/merged."""
    archives = [
        single(tmp_path, small_executable, AMD64, "amd64"),
        single(tmp_path, small_executable, ARM64, "arm64"),
    ]
    merged_layout = Layout.create(tmp_path / "merged")
    merged = merge_indexes(merged_layout, gather(merged_layout, archives))
    merged_layout.add_manifest(merged, "latest")
    return merged_layout


def test_two_single_platform_indexes_become_one(tmp_path: Path, small_executable: Path):
    merged_layout = merged_two_platforms(tmp_path, small_executable)
    index = merged_layout.read_json(merged_layout.resolve("latest").digest)
    assert index["mediaType"] == OCI_INDEX
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    assert index["annotations"] == VERSION, "annotations every input agrees on are kept"


@pytest.mark.infra  # skopeo reads the merged index
def test_skopeo_picks_each_platform_of_the_merged_index(tmp_path: Path, small_executable: Path):
    skopeo = require_tool("skopeo")
    merged_two_platforms(tmp_path, small_executable)
    out = subprocess.run(
        [skopeo, "inspect", "--raw", f"oci:{tmp_path / 'merged'}:latest"],
        check=True,
        capture_output=True,
        text=True,
    )
    raw = json.loads(out.stdout)
    arches = sorted(m["platform"]["architecture"] for m in raw["manifests"])
    assert arches == ["amd64", "arm64"]
    for arch in ("amd64", "arm64"):
        out = subprocess.run(
            [skopeo, "--override-arch", arch, "inspect", f"oci:{tmp_path / 'merged'}:latest"],
            check=True,
            capture_output=True,
            text=True,
        )
        assert json.loads(out.stdout)["Architecture"] == arch


def test_duplicate_platforms_are_refused(tmp_path: Path, small_executable: Path):
    layout = Layout.create(tmp_path / "img")
    first = assemble(None, small_executable, ImageOptions("hello", AMD64), layout)
    second = assemble(None, small_executable, ImageOptions("other", AMD64), layout)
    with pytest.raises(
        ImageError, match=r"Platform linux/amd64 appears twice: in sha256:\w+ and in"
    ):
        merge_indexes(layout, [first, second])


def test_merging_nothing_is_refused(tmp_path: Path):
    with pytest.raises(ImageError, match="Nothing to merge"):
        merge_indexes(Layout.create(tmp_path), [])


def test_merging_bare_docker_manifests_gives_a_docker_list(tmp_path: Path):
    make_base(tmp_path / "a", [{}], docker=True, as_index=False)
    layout = Layout.open(tmp_path / "a")
    amd = layout.resolve("base")
    make_base(tmp_path / "b", [{}], docker=True, as_index=False, platforms=(("linux", "arm64"),))
    other = Layout.open(tmp_path / "b")
    arm = other.resolve("base")
    for path in (tmp_path / "b" / "blobs" / "sha256").iterdir():
        layout.write_blob(path.read_bytes())
    merged = merge_indexes(layout, [amd, arm])
    assert merged.media_type == DOCKER_LIST
    index = layout.read_json(merged.digest)
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    assert "annotations" not in index
