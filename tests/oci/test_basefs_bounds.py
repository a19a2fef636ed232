"""Hostile base layers (issue 21 items 2 and 4): a deep path, many entries, many whiteouts
and a bad PAX header end in one clear ImageError, and the scan stays linear.

Bounds are checked with small limits and a complexity comparison, never a clock limit."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci import basefs
from hatch_krust.oci.basefs import scan_layers
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP


def _layer(layout: Layout, names: list[str], pax: dict[str, str] | None = None) -> Descriptor:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(b""))
    data = gzip.compress(raw.getvalue())
    return Descriptor(OCI_LAYER_GZIP, layout.write_blob(data), len(data))


def test_a_path_too_deep_is_refused(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    deep = _layer(layout, ["/".join(["d"] * 2_000)])
    with pytest.raises(ImageError, match="levels deep"):
        scan_layers(layout, [deep])


def test_a_path_at_the_depth_limit_is_fine(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    name = "/".join(["d"] * basefs.MAX_DEPTH)
    files = scan_layers(layout, [_layer(layout, [name])])
    assert files.has(name) and files.has("d/d")


def test_too_many_entries_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(basefs, "MAX_ENTRIES", 100)
    layout = Layout.create(tmp_path)
    layers = [_layer(layout, [f"a/f{i}" for i in range(60)]),
              _layer(layout, [f"b/.wh.f{i}" for i in range(60)])]
    scan_layers(layout, layers[:1])
    with pytest.raises(ImageError, match="more than 100 entries"):
        scan_layers(layout, layers)


def _cost(layout: Layout, layers: list[Descriptor]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        scan_layers(layout, layers)
        best = min(best, time.process_time() - started)
    return best


def test_files_and_whiteouts_scan_in_linear_time(tmp_path: Path) -> None:
    """Eight times the files and whiteouts must cost well under the 64x of a quadratic scan."""
    layout = Layout.create(tmp_path)

    def layers(n: int) -> list[Descriptor]:
        return [_layer(layout, [f"d{i}/f" for i in range(n)]),
                _layer(layout, [f"x{i}/.wh.f" for i in range(n)])]

    small, large = _cost(layout, layers(1_000)), _cost(layout, layers(8_000))
    assert large < 24 * max(small, 1e-3), f"8x the entries cost {large / small:.1f}x the time"


def test_whiteouts_still_remove_what_lower_layers_hold(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    layers = [_layer(layout, ["a/b/c", "a/bc", "etc/x"]),
              _layer(layout, ["a/.wh.b", "etc/.wh..wh..opq", "etc/y"])]
    files = scan_layers(layout, layers)
    assert sorted(files.paths) == ["a", "a/bc", "etc", "etc/y"]


@pytest.mark.parametrize("header", ["GNU.sparse.size", "GNU.sparse.offset", "size", "mtime",
                                    "uid", "GNU.sparse.major"])
def test_a_bad_pax_number_is_a_clear_error(tmp_path: Path, header: str) -> None:
    layout = Layout.create(tmp_path)
    layer = _layer(layout, ["etc/passwd"], pax={header: "x", "GNU.sparse.minor": "0"})
    try:
        scan_layers(layout, [layer])
    except ImageError as exc:
        assert layer.digest in str(exc)


def test_one_level_past_the_limit_is_refused(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path)
    layer = _layer(layout, ["/".join(["d"] * (basefs.MAX_DEPTH + 1))])
    with pytest.raises(ImageError, match="levels deep"):
        scan_layers(layout, [layer])
