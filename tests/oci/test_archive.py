"""OCI layout archives: deterministic to write, safe to read, readable by skopeo."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import ImageOptions, assemble
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, open_archive, reachable_blobs, write_archive

needs_skopeo = pytest.mark.registry  # skopeo is installed by scripts/test.sh; missing fails
PLATFORM = Platform("linux", "amd64")


def build(root: Path, executable: Path, tag: str = "latest") -> Layout:
    layout = Layout.create(root)
    index = assemble(None, executable, ImageOptions("hello", PLATFORM, epoch=1700000000), layout)
    layout.add_manifest(index, tag)
    return layout


def test_archive_is_byte_identical_across_builds(tmp_path: Path, small_executable: Path):
    write_archive(build(tmp_path / "a", small_executable), tmp_path / "a.tar")
    write_archive(build(tmp_path / "b", small_executable), tmp_path / "b.tar")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_archive_entries_are_sorted_with_fixed_metadata(
    tmp_path: Path, small_executable: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "5")  # not read: the epoch is a parameter
    layout = build(tmp_path / "img", small_executable)
    write_archive(layout, tmp_path / "img.tar", epoch=1700000000)
    with tarfile.open(tmp_path / "img.tar") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[:2] == ["blobs", "blobs/sha256"]
    assert names[-2:] == ["index.json", "oci-layout"]
    blobs = {n.rpartition("/")[2] for n in names[2:-2]}
    assert blobs == {d.split(":")[1] for d in reachable_blobs(layout)}
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1700000000
        assert member.mode == (0o755 if member.isdir() else 0o644)


def test_unreferenced_blobs_stay_out_of_the_archive(tmp_path: Path, small_executable: Path):
    layout = build(tmp_path / "img", small_executable)
    stray = layout.write_blob(b"not part of any image")
    write_archive(layout, tmp_path / "img.tar", epoch=0)
    with tarfile.open(tmp_path / "img.tar") as tar:
        assert f"blobs/sha256/{stray[7:]}" not in tar.getnames()


def test_archive_round_trips_through_open_archive(tmp_path: Path, small_executable: Path):
    layout = build(tmp_path / "img", small_executable)
    write_archive(layout, tmp_path / "img.tar")
    with open_archive(tmp_path / "img.tar") as extracted:
        root = extracted.root
        assert extracted.resolve("latest") == layout.resolve("latest")
        assert reachable_blobs(extracted) == reachable_blobs(layout)
    assert not root.exists(), "the temporary directory is removed on exit"


def test_missing_blob_is_reported_not_archived(tmp_path: Path, small_executable: Path):
    layout = build(tmp_path / "img", small_executable)
    index = layout.resolve("latest")
    layout.blob_path(index.digest).unlink()
    with pytest.raises(ImageError, match=f"Blob {index.digest} .* is missing"):
        write_archive(layout, tmp_path / "img.tar")
    assert not (tmp_path / "img.tar").exists()


def evil_archive(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w") as tar:
        ok = tarfile.TarInfo("oci-layout")
        content = b'{"imageLayoutVersion":"1.0.0"}'
        ok.size = len(content)
        tar.addfile(ok, io.BytesIO(content))
        member.size = len(data) if member.isreg() else 0
        tar.addfile(member, io.BytesIO(data))
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (member("../evil"), "unsafe path '../evil'"),
        (member("blobs/../../evil"), "unsafe path 'blobs/../../evil'"),
        (member("/etc/evil"), "unsafe path '/etc/evil'"),
        (member("blobs/link", tarfile.SYMTYPE, "/etc/passwd"), "not a regular file or directory"),
        (member("blobs/up", tarfile.SYMTYPE, "../../.."), "not a regular file or directory"),
        (member("blobs/hard", tarfile.LNKTYPE, "oci-layout"), "not a regular file or directory"),
        (member("blobs/dev", tarfile.CHRTYPE), "not a regular file or directory"),
    ],
)
def test_open_archive_refuses_unsafe_members(tmp_path: Path, info: tarfile.TarInfo, message: str):
    archive = evil_archive(tmp_path / "evil.tar", info, b"pwned")
    with pytest.raises(ImageError, match=message), open_archive(archive):
        pass
    assert not (tmp_path.parent / "evil").exists()
    assert not (tmp_path / "evil").exists()


def test_open_archive_reports_a_broken_file(tmp_path: Path):
    (tmp_path / "junk.tar").write_bytes(b"this is not a tar file" * 40)
    with (
        pytest.raises(ImageError, match="Cannot read the OCI archive"),
        open_archive(tmp_path / "junk.tar"),
    ):
        pass


@needs_skopeo
def test_skopeo_reads_the_archive(tmp_path: Path, small_executable: Path):
    layout = build(tmp_path / "img", small_executable, tag="1.0")
    write_archive(layout, tmp_path / "img.tar")
    out = subprocess.run(
        ["skopeo", "inspect", f"oci-archive:{tmp_path / 'img.tar'}:1.0"],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(out.stdout)
    assert info["Digest"] == layout.resolve("1.0").digest
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert info["Created"] == "2023-11-14T22:13:20Z"


@needs_skopeo
def test_skopeo_copies_our_layout_and_we_read_its_copy(tmp_path: Path, small_executable: Path):
    layout = build(tmp_path / "img", small_executable)
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--all",
            f"oci:{tmp_path / 'img'}:latest",
            f"oci:{tmp_path / 'copy'}:v1",
        ],
        check=True,
        capture_output=True,
    )
    copy = Layout.open(tmp_path / "copy")
    assert copy.resolve("v1").digest == layout.resolve("latest").digest
    assert reachable_blobs(copy) == reachable_blobs(layout)


@needs_skopeo
def test_full_image_name_for_docker_load(tmp_path: Path, small_executable: Path):
    """`io.containerd.image.name` carries the full name; skopeo still finds the tag, and
    gets the platform manifest that the archive lists (tests/oci/test_archive_names.py)."""
    layout = Layout.create(tmp_path / "img")
    index = assemble(None, small_executable, ImageOptions("hello", PLATFORM), layout)
    layout.add_manifest(index, "1.0", image_name="example.org/team/hello:1.0")
    entry = layout.index()["manifests"][0]
    assert entry["annotations"] == {
        "io.containerd.image.name": "example.org/team/hello:1.0",
        "org.opencontainers.image.ref.name": "1.0",
    }
    write_archive(layout, tmp_path / "img.tar")
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci-archive:{tmp_path / 'img.tar'}:1.0"],
        check=True,
        capture_output=True,
    )
    (platform_manifest,) = layout.read_json(index.digest)["manifests"]
    assert out.stdout == layout.read_blob(platform_manifest["digest"])


# --- archive bombs (issue 11, item 1) ------------------------------------------------------

BOMB = 256 << 20


class Zeros(io.RawIOBase):
    """`size` zero bytes, produced as read: the bomb is never held in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def rewrite_archive(
    source: Path, target: Path, replace: dict[str, bytes], extra: dict[str, int]
) -> None:
    """Copy an archive as .tar.gz, swapping the bytes of members in `replace` and adding
    `extra` members of that many zero bytes first (before anything the index reaches)."""
    with tarfile.open(source) as src, tarfile.open(target, "w:gz", compresslevel=1) as out:
        for name, size in extra.items():
            info = tarfile.TarInfo(name)
            info.size = size
            out.addfile(info, io.BufferedReader(Zeros(size)))
        for info in src:
            data = src.extractfile(info).read() if info.isreg() else b""  # type: ignore[union-attr]
            data = replace.get(info.name, data)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data) if info.isreg() else None)


def disk_usage(root: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in root.rglob("*") if p.is_file())


def test_unreferenced_members_are_never_written(tmp_path: Path, small_executable: Path):
    layout = build(tmp_path / "img", small_executable)
    write_archive(layout, tmp_path / "img.tar")
    stray = "blobs/sha256/" + "0" * 64
    bomb = tmp_path / "bomb.tar.gz"
    rewrite_archive(tmp_path / "img.tar", bomb, {}, {stray: BOMB, "junk/zeros": BOMB})
    assert bomb.stat().st_size < 4 << 20, "a small archive …"
    with open_archive(bomb) as read:
        assert disk_usage(read.root) < 1 << 20, "… must not unpack into gigabytes"
        assert not (read.root / stray).exists()
        assert not (read.root / "junk").exists()
        assert reachable_blobs(read) == reachable_blobs(layout)
        assert read.resolve("latest") == layout.resolve("latest")
        for digest in reachable_blobs(layout):
            assert read.read_blob(digest, 1 << 30) == layout.read_blob(digest, 1 << 30)


def _layer_member(layout: Layout) -> tuple[str, bytes]:
    digest = next(d for d in reachable_blobs(layout) if layout.blob_path(d).stat().st_size > 1000)
    return f"blobs/{digest.replace(':', '/')}", layout.blob_path(digest).read_bytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data + bytes(1 << 20), "of .* bytes, but its descriptor says"),
        (lambda data: data[:-1], "of .* bytes, but its descriptor says"),
        (lambda data: bytes(len(data)), "does not match its digest"),
    ],
    ids=["larger", "shorter", "same-size-other-bytes"],
)
def test_a_member_unlike_its_descriptor_is_refused(
    tmp_path: Path, small_executable: Path, change, message: str
):  # type: ignore[no-untyped-def]
    layout = build(tmp_path / "img", small_executable)
    write_archive(layout, tmp_path / "img.tar")
    name, data = _layer_member(layout)
    bad = tmp_path / "bad.tar.gz"
    rewrite_archive(tmp_path / "img.tar", bad, {name: change(data)}, {})
    with pytest.raises(ImageError, match=message), open_archive(bad):
        pass


@pytest.mark.parametrize("missing", ["index.json", "oci-layout"])
def test_an_archive_without_its_layout_files_is_refused(
    tmp_path: Path, small_executable: Path, missing: str
):
    layout = build(tmp_path / "img", small_executable)
    write_archive(layout, tmp_path / "img.tar")
    with tarfile.open(tmp_path / "img.tar") as src, tarfile.open(tmp_path / "x.tar", "w") as out:
        for info in src:
            if info.name != missing:
                out.addfile(info, src.extractfile(info) if info.isreg() else None)
    with pytest.raises(ImageError, match=f"has no `{missing}`"), open_archive(tmp_path / "x.tar"):
        pass


def test_an_oversized_index_json_is_refused_unread(tmp_path: Path):
    archive = tmp_path / "big-index.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as out:
        info = tarfile.TarInfo("oci-layout")
        info.size = len(b'{"imageLayoutVersion":"1.0.0"}')
        out.addfile(info, io.BytesIO(b'{"imageLayoutVersion":"1.0.0"}'))
        info = tarfile.TarInfo("index.json")
        info.size = BOMB
        out.addfile(info, io.BufferedReader(Zeros(BOMB)))
    with pytest.raises(ImageError, match="oversized"), open_archive(archive):
        pass
