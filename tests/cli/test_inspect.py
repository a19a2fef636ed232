"""`hatch-krust inspect --raw` prints the manifest exactly as stored."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, write_archive
from tests.infra.registry import random_index


def test_raw_output_hashes_to_the_digest(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path / "layout")
    index = random_index(layout, [Platform("linux", "amd64")], tag="v1")
    write_archive(layout, tmp_path / "image.tar")
    raw = subprocess.run([sys.executable, "-m", "hatch_krust", "inspect", "--raw",
                          f"oci-archive:{tmp_path / 'image.tar'}:v1"],
                         capture_output=True, check=True)
    assert "sha256:" + hashlib.sha256(raw.stdout).hexdigest() == index.digest
    shown = subprocess.run([sys.executable, "-m", "hatch_krust", "inspect",
                            f"oci-archive:{tmp_path / 'image.tar'}:v1"],
                           capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)["digest"] == index.digest


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """`hatch-krust inspect REF --config | head -c 1`: the reader is gone before we write;
    like coreutils, no message and the status of a SIGPIPE (141), every time."""
    import os

    layout = Layout.create(tmp_path / "layout")
    random_index(layout, [Platform("linux", "amd64")], tag="v1")
    for _ in range(3):
        read_end, write_end = os.pipe()
        os.close(read_end)  # `head -c 1` has read its byte and gone
        try:
            done = subprocess.run(
                [sys.executable, "-m", "hatch_krust", "inspect", "--config",
                 "--platform", "linux/amd64", f"oci:{tmp_path / 'layout'}:v1"],
                stdout=write_end, stderr=subprocess.PIPE, text=True, check=False, timeout=60,
            )  # fmt: skip
        finally:
            os.close(write_end)
        assert (done.returncode, done.stderr) == (141, "")
