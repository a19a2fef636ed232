"""A base layer is read once per build: the base's Python (`read_tree`) and the image's
runtime files (`scan_layers`, through `take_base`) share one listing (issue 18's speed
target: a two-platform build read every base layer twice)."""

from __future__ import annotations

from pathlib import Path

from hatch_krust.layered.base_python import read_tree
from hatch_krust.oci.basefs import scan_layers
from hatch_krust.oci.layout import Layout
from tests.layered.test_base_python import layer


def test_the_runtime_files_come_from_the_listing_read_for_the_python(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path / "base")
    base = layer(layout, {"etc/passwd": b"root:x:0:0::/root:/bin/sh\n", "usr/bin/python3.11": "x"})
    tree = read_tree(layout, [base])
    assert tree.links == {"usr/bin/python3.11": "x"}
    layout.blob_path(base.digest).unlink()  # a second read would fail now
    files = scan_layers(layout, [base])
    assert files.has("usr/bin/python3.11")
    assert files.content("etc/passwd") == b"root:x:0:0::/root:/bin/sh\n"


def test_a_listing_without_the_python_files_is_not_taken_for_one_with_them(
    tmp_path: Path,
) -> None:
    layout = Layout.create(tmp_path / "base")
    base = layer(layout, {"usr/bin/python3.11": b"\x7fELF"})
    assert scan_layers(layout, [base]).has("usr/bin/python3.11")
    tree = read_tree(layout, [base])  # the runtime files' listing kept no content
    assert tree.files == {"usr/bin/python3.11": b"\x7fELF"}
