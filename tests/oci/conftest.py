"""Fixtures for the image tests: a static probe executable and the host platform."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hatch_krust.oci.descriptor import Platform
from tests.infra.tools import require_tool

PROBE_SOURCE = Path(__file__).with_name("probe.c")


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static executable that prints its uid, user, /tmp state, CA bundle, args and env."""
    require_tool("gcc")
    out = tmp_path_factory.mktemp("probe") / "probe"
    result = subprocess.run(
        ["gcc", "-static", "-O2", "-o", str(out), str(PROBE_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"cannot build the static probe (is libc6-dev installed?):\n{result.stderr}")
    return out


@pytest.fixture(scope="session")
def host_platform() -> Platform:
    return Platform.host()


@pytest.fixture
def small_executable(tmp_path: Path) -> Path:
    """Stand-in bytes for an executable, for tests that never run it."""
    path = tmp_path / "hello-bin"
    path.write_bytes(b"\x7fELF" + bytes(range(256)) * 16)
    return path
