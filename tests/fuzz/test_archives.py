"""Generated hostile `oci-archive:` files: a real archive with random bytes flipped, cut
short, members added (any name, type, size) and maybe gzip-compressed, read by
`open_archive` and everything after it, up to building an image on it as a base. Added
members carry random PAX headers (`GNU.sparse.size=x` was a traceback, issue 21 item 4).
Success or a KrustError every time, and nothing written outside the temporary directory."""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_krust.errors import KrustError
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from tests.fuzz.test_bases import PAX_KEYS, PAX_VALUES, build_on
from tests.fuzz.test_documents import read_everything
from tests.oci.images import make_base

NAMES = ["index.json", "oci-layout", "blobs/sha256/" + "0" * 64, "../escape", "/abs", "./x", ""]
TYPES = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("fuzz-archive")
    make_base(root / "img", [{"etc/": None}], tag="v1")
    write_archive(Layout.open(root / "img"), root / "img.tar")
    return (root / "img.tar").read_bytes()


def extra_member(data: st.DataObject) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(data.draw(st.sampled_from(NAMES) | st.text(max_size=20)))
        info.type = data.draw(st.sampled_from(TYPES))
        info.linkname = data.draw(st.sampled_from(["", "/etc/passwd", "../../x", "index.json"]))
        info.pax_headers = data.draw(st.dictionaries(
            st.sampled_from(PAX_KEYS), st.sampled_from(PAX_VALUES) | st.text(max_size=8),
            max_size=3), label="pax headers")
        content = data.draw(st.binary(max_size=64)) if info.type == tarfile.REGTYPE else b""
        info.size = len(content)
        with contextlib.suppress(ValueError, UnicodeError):  # what tarfile will not write
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()[: -1024]  # without the end-of-archive blocks


@settings(max_examples=400, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_hostile_archives(archive: bytes, data: st.DataObject, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    raw = bytearray(archive)
    if data.draw(st.booleans(), label="add a member first"):
        raw[0:0] = extra_member(data)
    for _ in range(data.draw(st.integers(0, 6), label="flips")):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans(), label="cut short"):
        raw = raw[: data.draw(st.integers(0, len(raw)), label="cut at")]
    blob = gzip.compress(bytes(raw), mtime=0) if data.draw(st.booleans(), label="gzip") else raw
    where = tmp_path_factory.mktemp("a")
    (where / "x.tar").write_bytes(bytes(blob))
    (where / "tmp").mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(where / "tmp")
    try:
        with contextlib.suppress(KrustError), open_archive(where / "x.tar") as layout:
            read_everything(layout)
            build_on(layout, "v1", tmp_path_factory.mktemp("build"))
    finally:
        tempfile.tempdir = saved
    assert sorted(p.name for p in where.iterdir()) == ["tmp", "x.tar"], "nothing escaped"
    assert list((where / "tmp").iterdir()) == [], "the temporary layout is removed"
