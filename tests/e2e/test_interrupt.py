"""A build that cannot write its cache or is interrupted ends with one line and a status,
no traceback, and leaves no temporary directory behind (issue 11, item 9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, write_project

pytestmark = [pytest.mark.infra]


def _project(root: Path) -> Path:
    return write_project(
        root,
        name="stopper",
        scripts={"stopper": "stopper:main"},
        files={"stopper/__init__.py": "def main():\n    print('hi')\n"},
        krust='format = "static"\nbase-image = "scratch"',
    )


def test_a_cache_dir_under_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    project = _project(tmp_path)
    env = build_env(blocker / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "krust:binary"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"Not a directory: {blocker}" in done.stderr
    assert "KRUST_CACHE_DIR" in done.stderr


def test_ctrl_c_during_a_build_stops_it_cleanly(tmp_path: Path) -> None:
    project = _project(tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = build_env(tmp_path / "fresh-cache", TMPDIR=str(scratch))
    process = subprocess.Popen(
        [sys.executable, "-m", "hatchling", "build", "-t", "krust:binary"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(scratch.iterdir()):
        time.sleep(0.1)  # until the build has made its working directory
    time.sleep(2)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].endswith("interrupted"), stderr
    out = project / "dist" / "krust"
    assert not out.exists() or not any(out.iterdir())
    assert list(scratch.iterdir()) == []
