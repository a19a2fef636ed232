"""Hostile `index.json` shapes: one ImageError each, never a traceback (issue 11, item 4)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.descriptor import Descriptor, DescriptorError, Platform
from hatch_krust.oci.image import load_image, platforms_of
from hatch_krust.oci.layout import MAX_DEPTH, Layout, reachable_blobs, write_archive
from hatch_krust.oci.mediatypes import OCI_INDEX
from tests.oci.images import make_base

GOOD = {"mediaType": OCI_INDEX, "digest": "sha256:" + "a" * 64, "size": 10}


def layout_with(root: Path, entries: list[Any]) -> Layout:
    layout = Layout.create(root)
    (root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    )
    return layout


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({**GOOD, "size": "abc"}, "invalid size 'abc'"),
        ({**GOOD, "size": -5}, "invalid size '-5'"),
        ({**GOOD, "size": [1]}, r"invalid size '\[1\]'"),
        ({**GOOD, "size": True}, "invalid size 'True'"),
        ({**GOOD, "size": 1.5}, "invalid size '1.5'"),
        ("sha256:" + "a" * 64, "a descriptor is a str, not an object"),
        ({**GOOD, "annotations": ["org.opencontainers.image.ref.name"]}, "`annotations`"),
        ({**GOOD, "annotations": {"k": 1}}, "`annotations`"),
        ({**GOOD, "urls": "https://example.com/layer"}, "`urls` that are not a list"),
        ({**GOOD, "digest": 7}, "`digest` is int"),
        ({**GOOD, "digest": "sha256:../../etc"}, "invalid digest"),
        ({**GOOD, "mediaType": {"x": 1}}, "`mediaType` is dict"),
        ({**GOOD, "platform": ["linux"]}, "`platform`"),
        ({**GOOD, "platform": {"os": "linux", "architecture": 64}}, "`platform`"),
        ({**GOOD, "platform": {"os": "windows", "os.features": "win32k"}}, "`platform`"),
    ],
)
def test_malformed_entries_are_one_image_error(tmp_path: Path, entry: Any, problem: str):
    layout = layout_with(tmp_path / "l", [entry])
    for read in (layout.descriptors, lambda: layout.resolve(None), lambda: reachable_blobs(layout)):
        with pytest.raises(ImageError, match=f"index.json has a malformed descriptor.*{problem}"):
            read()
    with pytest.raises(ImageError):
        write_archive(layout, tmp_path / "out.tar")
    assert not (tmp_path / "out.tar").exists()


@pytest.mark.parametrize("manifests", [{"a": 1}, "abc", 5])
def test_manifests_that_are_not_a_list(tmp_path: Path, manifests: Any):
    layout = Layout.create(tmp_path / "l")
    (layout.root / "index.json").write_text(json.dumps({"manifests": manifests}))
    with pytest.raises(ImageError, match="`manifests` is not a list"):
        layout.descriptors()


@pytest.mark.parametrize(
    "data", [b"[1, 2]", b"\xff\xfe\x00garbage", b"[" * 100_000, b'{"manifests": [', b""]
)
def test_index_json_that_is_not_an_object(tmp_path: Path, data: bytes):
    layout = Layout.create(tmp_path / "l")
    (layout.root / "index.json").write_bytes(data)
    with pytest.raises(ImageError, match=r"index\.json (is not|nests JSON)"):
        layout.descriptors()


def test_from_json_errors_are_image_errors_and_value_errors():
    """Registry code catches ValueError to add its own context; both must hold."""
    with pytest.raises(DescriptorError) as caught:
        Descriptor.from_json({**GOOD, "size": "abc"})
    assert isinstance(caught.value, ImageError)
    assert isinstance(caught.value, ValueError)


def test_platform_feature_lists_are_accepted():
    platform = {"os": "windows", "architecture": "amd64", "os.features": ["win32k"]}
    assert Descriptor.from_json({**GOOD, "platform": platform}).platform is not None


def test_a_urls_string_is_not_split_into_characters():
    with pytest.raises(ImageError, match="urls"):
        Descriptor.from_json({**GOOD, "urls": "https://x"})
    assert Descriptor.from_json({**GOOD, "urls": ["https://x"]}).urls == ("https://x",)


def _put(root: Path, document: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(document).encode()
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": OCI_INDEX, "digest": f"sha256:{digest}", "size": len(data)}


def nested(root: Path, depth: int) -> Layout:
    """`depth` indexes, each holding the next, around a real single-platform image."""
    entry = make_base(root, [{"etc/": None}], tag="base")
    entry = {k: v for k, v in entry.items() if k != "annotations"}
    for _ in range(depth):
        entry = _put(root, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    return layout_with(root, [{**entry, "annotations": {"org.opencontainers.image.ref.name": "t"}}])


def test_1500_nested_indexes_are_refused_without_recursion(tmp_path: Path):
    layout = nested(tmp_path / "deep", 1500)
    amd64 = Platform("linux", "amd64")
    with pytest.raises(ImageError, match=f"nests indexes more than {MAX_DEPTH} deep"):
        reachable_blobs(layout)
    with pytest.raises(ImageError, match=f"nests indexes more than {MAX_DEPTH} deep"):
        platforms_of(layout, layout.resolve("t"))
    with pytest.raises(ImageError, match=f"nests indexes more than {MAX_DEPTH} deep"):
        load_image(layout, layout.resolve("t"), amd64)
    with pytest.raises(ImageError, match="nests indexes"):
        write_archive(layout, tmp_path / "deep.tar")


def test_nesting_up_to_the_bound_still_reads(tmp_path: Path):
    layout = nested(tmp_path / "ok", MAX_DEPTH - 1)
    # the outer indexes, then the base's index, manifest, config and layer
    assert len(reachable_blobs(layout)) == MAX_DEPTH - 1 + 4
    image = load_image(layout, layout.resolve("t"), Platform("linux", "amd64"))
    assert len(image.manifest.layers) == 1
