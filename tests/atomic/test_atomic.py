"""The one atomic writer: a file is replaced whole or not at all, and nothing is left
beside it when the write fails."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hatch_krust.atomic import atomic_writer, install_atomically, write_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "record.json"
    write_atomically(b"old", target)
    with pytest.raises(RuntimeError), atomic_writer(target) as out:
        out.write(b"half of the new")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_modes_and_copies(tmp_path: Path) -> None:
    source = tmp_path / "exe"
    source.write_bytes(b"\x7fELF")
    installed = install_atomically(source, tmp_path / "dist" / "exe")
    assert installed.read_bytes() == b"\x7fELF"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o755
    written = write_atomically(b"{}", tmp_path / "dist" / "r.json")
    assert stat.S_IMODE(written.stat().st_mode) == 0o644


def test_a_missing_directory_is_made_unless_told_not_to(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(b"x", tmp_path / "nowhere" / "refs.txt", parents=False)
    assert not (tmp_path / "nowhere").exists()
    assert write_atomically(b"x", tmp_path / "made" / "refs.txt").read_bytes() == b"x"
