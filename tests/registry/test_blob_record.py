"""The blob record (where each blob was last seen, per registry host): hermetic units."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest

from hatch_krust.registry import blobrecord
from hatch_krust.registry.blobrecord import PER_DIGEST, BlobRecord, read_record, write_record

if TYPE_CHECKING:
    from pathlib import Path

HOST = "registry.example:5000"


def digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def test_most_recent_first_and_saved(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "registry" / "blob-locations.json"
    record = BlobRecord(path, HOST)
    record.seen(digest(1), "team/a")
    record.seen(digest(1), "team/b")
    record.seen(digest(1), "team/a")
    assert record.candidates(digest(1), exclude="team/c") == ["team/a", "team/b"]
    assert record.candidates(digest(1), exclude="team/a") == ["team/b"]
    assert not path.exists()  # written on save only
    record.save()
    again = BlobRecord(path, HOST)
    assert again.candidates(digest(1), exclude="") == ["team/a", "team/b"]
    assert json.loads(path.read_text())["version"] == 1


def test_forget_drops_a_stale_entry(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    record = BlobRecord(path, HOST)
    record.seen(digest(1), "team/a")
    record.seen(digest(1), "team/b")
    record.save()
    stale = BlobRecord(path, HOST)
    stale.forget(digest(1), "team/b")
    assert stale.candidates(digest(1), exclude="") == ["team/a"]
    stale.save()
    assert BlobRecord(path, HOST).candidates(digest(1), exclude="") == ["team/a"]


def test_never_another_registry(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    one = BlobRecord(path, HOST)
    one.seen(digest(1), "team/a")
    one.save()
    other = BlobRecord(path, "other.example")
    assert other.candidates(digest(1), exclude="") == []
    other.seen(digest(1), "team/z")
    other.save()
    assert BlobRecord(path, HOST).candidates(digest(1), exclude="") == ["team/a"]
    assert BlobRecord(path, "OTHER.example").candidates(digest(1), exclude="") == ["team/z"]


def test_bounded_per_digest_and_in_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "record.json"
    monkeypatch.setattr(blobrecord, "MAX_ENTRIES", 20)
    record = BlobRecord(path, HOST)
    for n in range(PER_DIGEST + 3):
        record.seen(digest(0), f"team/r{n}")
    newest_first = [f"team/r{n}" for n in reversed(range(PER_DIGEST + 3))]
    assert record.candidates(digest(0), exclude="") == newest_first[:PER_DIGEST]
    for n in range(1, 30):
        record.seen(digest(n), "team/a")
    record.save()
    blobs = read_record(path)
    assert sum(len(entries) for entries in blobs.values()) <= 20
    assert digest(29) in blobs  # the least recently used digests went first
    assert digest(0) not in blobs


def test_concurrent_views_merge_on_save(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    first, second = BlobRecord(path, HOST), BlobRecord(path, HOST)
    first.seen(digest(1), "team/a")
    second.seen(digest(2), "team/b")
    first.save()
    second.save()  # read, merged, written: the first view's entry survives
    final = BlobRecord(path, HOST)
    assert final.candidates(digest(1), exclude="") == ["team/a"]
    assert final.candidates(digest(2), exclude="") == ["team/b"]


def test_a_file_changed_since_loading_is_merged_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    write_record(path, {digest(0): [(HOST, "team/old")]})
    first, second = BlobRecord(path, HOST), BlobRecord(path, HOST)
    first.seen(digest(1), "team/a")  # both views load the same version of the file
    second.seen(digest(2), "team/b")
    first.save()
    second.save()
    second.seen(digest(3), "team/c")  # unchanged since its last save: written from memory
    second.save()
    assert sorted(read_record(path)) == sorted(digest(n) for n in range(4))


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cache" / "record.json"
    write_record(path, {digest(1): [(HOST, "team/a")]})
    before = path.read_bytes()

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(blobrecord.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        write_record(path, {digest(2): [(HOST, "team/b")]})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]  # no temporary left


@pytest.mark.parametrize("content", [
    b"\x00garbage", b"[]", b'{"version": 1, "blobs": []}', b'{"version": 2, "blobs": {}}',
    b'{"version": 1, "blobs": {"sha256:00": [["h", "r"]]}}', b'{"version": 1}',
    b'{"version": 1, "blobs": {"x": [[1, 2, 3]]}}', b"[" * 100_000,
])
def test_a_damaged_file_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(content)
    record = BlobRecord(path, HOST)
    assert record.candidates(digest(1), exclude="") == []
    record.seen(digest(1), "team/a")
    record.save()
    assert read_record(path) == {digest(1): [(HOST, "team/a")]}


def test_an_oversized_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "record.json"
    write_record(path, {digest(n): [(HOST, "team/a")] for n in range(50)})
    assert len(read_record(path)) == 50
    monkeypatch.setattr(blobrecord, "MAX_FILE", path.stat().st_size - 1)
    assert read_record(path) == {}


def test_entries_that_do_not_parse_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    good = [HOST, "team/a"]
    path.write_text(json.dumps({"version": 1, "blobs": {
        digest(1): [good, ["user:pw@host", "team/a"], [HOST, "Bad Repo"], [HOST, "x?y=1"],
                    [HOST + "\n", "team/a"], [HOST, "team/a\n"]],
        digest(2) + "\n": [good],
        "md5:abc": [good],
    }}))
    assert read_record(path) == {digest(1): [(HOST, "team/a")]}


def test_holds_no_credentials_nor_urls(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    record = BlobRecord(path, HOST)
    record.seen(digest(1), "team/a")
    BlobRecord(path, "alice:secret@evil.example").seen(digest(1), "team/a")  # refused
    record.seen(digest(2), "https://alice:secret@x/y")  # not a repository: refused
    record.save()
    text = path.read_text()
    assert "secret" not in text
    assert "alice" not in text
    assert "http" not in text
    assert read_record(path) == {digest(1): [(HOST, "team/a")]}


def test_without_a_path_nothing_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path / "home")
    record = BlobRecord(None, HOST)
    record.seen(digest(1), "team/a")
    record.save()
    assert record.candidates(digest(1), exclude="") == []
    assert list(tmp_path.rglob("*")) == [tmp_path / "home"]


def test_an_unwritable_location_costs_only_the_hint(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    record = BlobRecord(blocker / "registry" / "record.json", HOST)
    record.seen(digest(1), "team/a")
    record.save()  # no exception: the push it belongs to has succeeded
    assert blocker.read_text() == "not a directory"
