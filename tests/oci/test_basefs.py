"""Listing a base's file system from its layers: whiteouts, odd writers, broken layers."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.basefs import scan_layers
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP, OCI_LAYER_TAR
from tests.oci.images import tar_bytes


def put(layout: Layout, data: bytes, media_type: str = OCI_LAYER_GZIP) -> Descriptor:
    return Descriptor(media_type, layout.write_blob(data), len(data))


def test_layers_apply_in_order_with_whiteouts(tmp_path: Path):
    layout = Layout.create(tmp_path)
    layers = [
        put(layout, gzip.compress(tar_bytes({"a/b/c": b"1", "etc/passwd": b"x:x:1:1::/:/x\n"}))),
        put(layout, tar_bytes({"a/.wh.b": b"", "etc/passwd": b"y:x:2:2::/:/y\n"}), OCI_LAYER_TAR),
        put(layout, gzip.compress(tar_bytes({"a/b/d": b"2"}))),
    ]
    files = scan_layers(layout, layers)
    assert files.has("/a/b/d") and files.has("a/b")
    assert not files.has("a/b/c"), "the whiteout removed b and everything under it"
    assert files.content("/etc/passwd") == b"y:x:2:2::/:/y\n", "the upper layer's file wins"


def test_removed_file_loses_its_content(tmp_path: Path):
    layout = Layout.create(tmp_path)
    layers = [
        put(layout, gzip.compress(tar_bytes({"etc/group": b"g:x:1:\n"}))),
        put(layout, gzip.compress(tar_bytes({"etc/.wh..wh..opq": b""}))),
    ]
    files = scan_layers(layout, layers)
    assert files.has("etc") and not files.has("etc/group")
    assert files.content("etc/group") is None


def test_layer_without_end_of_archive_is_accepted(tmp_path: Path):
    """umoci 0.4's `insert` writes such layers; runtimes accept them, so do we."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("etc/passwd")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"a:x:1"))
    truncated = raw.getvalue()[: 512 + 5]
    layout = Layout.create(tmp_path)
    files = scan_layers(layout, [put(layout, gzip.compress(truncated))])
    assert files.content("etc/passwd") == b"a:x:1"


def test_garbage_layer_is_a_clear_error(tmp_path: Path):
    layout = Layout.create(tmp_path)
    layer = put(layout, b"\x28\xb5\x2f\xfd not really zstd")
    with pytest.raises(ImageError, match=f"Cannot list the base layer {layer.digest}"):
        scan_layers(layout, [layer])


def test_foreign_layers_are_skipped(tmp_path: Path):
    layout = Layout.create(tmp_path)
    foreign = Descriptor(OCI_LAYER_GZIP, "sha256:" + "f" * 64, 10, urls=("https://example/x",))
    assert scan_layers(layout, [foreign]).paths == frozenset()


def test_zstd_layers_are_named_as_unsupported(tmp_path: Path):
    layout = Layout.create(tmp_path)
    layer = put(layout, b"x", "application/vnd.oci.image.layer.v1.tar+zstd")
    with pytest.raises(ImageError, match="is zstd-compressed; only gzip and plain tar are read"):
        scan_layers(layout, [layer])
