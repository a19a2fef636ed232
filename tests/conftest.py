"""Suite-wide policy: the tools the tests use must be there. A missing tool is a failure
to fix (run scripts/test.sh, which installs them), never a silently skipped test."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED_TOOLS = ("docker-registry", "skopeo", "umoci", "runc", "gcc", "git")


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.exit(f"missing test tools: {', '.join(missing)}; run `bash scripts/test.sh`", 3)
    if os.geteuid() != 0:
        pytest.exit("the runtime tests (chroot, runc) need root; run the suite as root", 3)

