"""The pure tests pass as a normal user on a machine where root has used podman
(`/run/containers` root-only), with an unwritable HOME and a ~/.docker/config.json of the
user's own holding real-looking credentials that no test may read (issue 17's acceptance).
scripts/check-as-normal-user.sh sets that machine up for real (a user, its home,
/run/containers/<uid>), runs `pytest -m "not infra"` as that user, and undoes it all."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.infra.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check-as-normal-user.sh"


@pytest.mark.infra  # root: creates a user and /run/containers; runs the pure suite (~1-2 min)
def test_the_pure_tests_pass_as_a_normal_user_on_a_podman_machine() -> None:
    for tool in ("useradd", "userdel", "runuser"):
        require_tool(tool)
    existed = Path("/run/containers").exists()
    done = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1800, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    output = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, output
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary, output
    assert "failed" not in summary and "error" not in summary, output
    assert Path("/run/containers").exists() == existed, "the script left /run/containers changed"
