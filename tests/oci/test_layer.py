"""The executable's layer: deterministic bytes, sorted entries, fixed owners and modes."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.layer import bytes_entry, dir_entry, file_entry, link_entry, write_layer
from hatch_krust.oci.mediatypes import DOCKER_LAYER_GZIP, OCI_LAYER_GZIP


def entries(executable: Path) -> list:
    return [
        file_entry("/app/hello", executable, 0o755),
        dir_entry("/tmp", 0o1777),
        bytes_entry("/etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n"),
        bytes_entry("/etc/ssl/certs/ca-certificates.crt", b"PEM", 0o644),
    ]


def test_same_entries_in_any_order_give_identical_bytes(tmp_path: Path, small_executable: Path):
    first = write_layer(entries(small_executable), tmp_path / "a.tar.gz", epoch=1700000000)
    second = write_layer(
        list(reversed(entries(small_executable))), tmp_path / "b.tar.gz", epoch=1700000000
    )
    assert first.digest == second.digest
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()


def test_golden_digest_of_a_fixed_layer(tmp_path: Path):
    """A change in tar or gzip settings shows up here as a changed digest."""
    layer = write_layer(
        [bytes_entry("/app/hello", b"hello\n", 0o755), dir_entry("/tmp", 0o1777)],
        tmp_path / "layer.tar.gz",
        epoch=0,
    )
    raw = gzip.decompress((tmp_path / "layer.tar.gz").read_bytes())
    assert layer.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert layer.diff_id == GOLDEN_DIFF_ID


# The uncompressed tar is independent of the zlib version, so its digest can be pinned.
GOLDEN_DIFF_ID = "sha256:bcad7e19bcd2ba072620d3c893bd6045c687c9b2ec735ca96f60589da2055092"


def test_epoch_changes_the_digest(tmp_path: Path, small_executable: Path):
    a = write_layer(entries(small_executable), tmp_path / "a", epoch=0)
    b = write_layer(entries(small_executable), tmp_path / "b", epoch=1)
    assert a.digest != b.digest


def test_digest_size_and_diff_id_describe_the_file(tmp_path: Path, small_executable: Path):
    layer = write_layer(entries(small_executable), tmp_path / "l", media_type=DOCKER_LAYER_GZIP)
    data = (tmp_path / "l").read_bytes()
    assert layer.size == len(data)
    assert layer.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest()
    assert layer.descriptor().media_type == DOCKER_LAYER_GZIP
    assert write_layer([], tmp_path / "e").media_type == OCI_LAYER_GZIP


def test_gzip_header_has_no_name_and_no_mtime(tmp_path: Path, small_executable: Path):
    write_layer(entries(small_executable), tmp_path / "l", epoch=1700000000)
    header = (tmp_path / "l").read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0, "FLG: no FNAME, no FEXTRA, no comment"
    assert header[4:8] == b"\0\0\0\0", "MTIME is zero"


def test_entries_sorted_with_parents_fixed_owners_modes_and_mtimes(
    tmp_path: Path, small_executable: Path
):
    write_layer(entries(small_executable), tmp_path / "l", epoch=1700000000)
    with tarfile.open(tmp_path / "l") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [
        "app",
        "app/hello",
        "etc",
        "etc/passwd",
        "etc/ssl",
        "etc/ssl/certs",
        "etc/ssl/certs/ca-certificates.crt",
        "tmp",
    ]
    modes = {m.name: m.mode for m in members}
    assert modes["app"] == modes["etc/ssl"] == 0o755
    assert modes["app/hello"] == 0o755
    assert modes["tmp"] == 0o1777
    assert modes["etc/passwd"] == 0o644
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1700000000
    assert members[1].size == small_executable.stat().st_size


def test_file_content_is_copied(tmp_path: Path, small_executable: Path):
    write_layer(entries(small_executable), tmp_path / "l")
    with tarfile.open(tmp_path / "l") as tar:
        extracted = tar.extractfile("app/hello")
        assert extracted is not None
        assert extracted.read() == small_executable.read_bytes()


def test_duplicate_path_is_refused(tmp_path: Path):
    with pytest.raises(ImageError, match="appears twice"):
        write_layer([bytes_entry("/a", b"1"), bytes_entry("a", b"2")], tmp_path / "l")
    assert not (tmp_path / "l").exists()


def test_file_used_as_a_directory_is_refused(tmp_path: Path):
    with pytest.raises(ImageError, match="is a file in the image layer but has children"):
        write_layer([bytes_entry("/a", b"1"), bytes_entry("/a/b", b"2")], tmp_path / "l")


@pytest.mark.parametrize("bad", ["/", "../etc/passwd", "/app/../../x"])
def test_invalid_paths_are_refused(tmp_path: Path, bad: str):
    with pytest.raises(ImageError, match="Invalid path in image layer"):
        write_layer([bytes_entry(bad, b"1")], tmp_path / "l")


def test_failed_write_leaves_no_temporary_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        write_layer([file_entry("/x", tmp_path / "missing")], tmp_path / "out" / "l")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_large_file_is_streamed_not_held_in_memory(tmp_path: Path):
    big = tmp_path / "big"
    with big.open("wb") as f:
        f.truncate(64 << 20)  # 64 MiB of zeros, sparse on disk
    tracemalloc.start()
    try:
        layer = write_layer([file_entry("/app/big", big)], tmp_path / "l")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak Python allocation {peak} bytes for a 64 MiB file"
    with tarfile.open(tmp_path / "l") as tar:
        assert tar.getmember("app/big").size == 64 << 20
    assert layer.size < 1 << 20


def test_a_link_entry_is_a_symbolic_link(tmp_path: Path):
    layer = write_layer(
        [link_entry("/opt/python/bin/python3", "python3.11"), bytes_entry("/a", b"")],
        tmp_path / "layer.tar.gz",
    )
    with tarfile.open(layer.path) as tar:
        member = tar.getmember("opt/python/bin/python3")
        parent = tar.getmember("opt/python/bin")
    assert member.issym()
    assert member.linkname == "python3.11"
    assert parent.isdir(), "a link's parents are directories like any entry's"
