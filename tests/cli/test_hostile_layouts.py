"""Hostile layouts and archives through the command line: one error line and a non-zero
exit, never a traceback; a bomb archive is inspected without being unpacked (issue 11)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.oci.layout import Layout, write_archive
from hatch_krust.oci.mediatypes import OCI_INDEX
from tests.oci.images import make_base
from tests.oci.test_archive import BOMB, disk_usage, rewrite_archive

GOOD = {"mediaType": OCI_INDEX, "digest": "sha256:" + "a" * 64, "size": 10}


def krust(*args: str, tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI; with `tmpdir`, temporary files go there and no file may exceed 64 MiB
    (RLIMIT_FSIZE: writing more kills the process with SIGXFSZ)."""
    env = dict(os.environ, TMPDIR=str(tmpdir)) if tmpdir else None
    return subprocess.run(
        [sys.executable, "-m", "hatch_krust", *args],
        capture_output=True, text=True, check=False, env=env, timeout=120,
        preexec_fn=_small_files if tmpdir else None,
    )  # fmt: skip


def _small_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))


@pytest.mark.parametrize(
    "entry",
    [
        {**GOOD, "size": "abc"},
        {**GOOD, "size": -5},
        {**GOOD, "size": [1]},
        "just a string",
        {**GOOD, "annotations": ["a"]},
        {**GOOD, "urls": "https://example.com/x"},
    ],
)
@pytest.mark.parametrize("command", ["inspect", "copy"])
def test_malformed_index_entries_are_one_line(tmp_path: Path, entry: object, command: str):
    layout = Layout.create(tmp_path / "l")
    (layout.root / "index.json").write_text(json.dumps({"manifests": [entry]}))
    args = [f"oci:{layout.root}"] + ([f"oci:{tmp_path / 'out'}"] if command == "copy" else [])
    result = krust(command, *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, result.stderr
    assert "malformed descriptor" in errors[0]


def test_inspect_of_an_archive_bomb_unpacks_nothing_unreferenced(tmp_path: Path):
    make_base(tmp_path / "img", [{"etc/": None}], tag="v1")
    write_archive(Layout.open(tmp_path / "img"), tmp_path / "img.tar")
    bomb = tmp_path / "bomb.tar.gz"
    rewrite_archive(tmp_path / "img.tar", bomb, {}, {"blobs/sha256/" + "f" * 64: BOMB})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = krust("inspect", f"oci-archive:{bomb}:v1", tmpdir=scratch)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["digest"].startswith("sha256:")
    assert disk_usage(scratch) == 0
    assert list(scratch.iterdir()) == []
