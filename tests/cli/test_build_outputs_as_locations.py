"""What a new user types after `hatch build -t krust`: the paths the build printed.

`hatch-krust inspect dist/krust/my-app-1.0.oci.tar` was taken for the Docker Hub image
`docker.io/dist/krust/my-app-1.0.oci.tar:latest` and answered with a DNS error for
registry-1.docker.io; `push` said to "use `copy` between registries"; `verify` and `sbom`
given the archive as `oci-archive:` said "bad registry host 'oci-archive:dist'". Each is
now one line naming the fix, before any network access (the test environment has none
to Docker Hub: a lookup would fail differently, and slowly)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, write_archive
from tests.infra.registry import random_index


def _hatch_krust(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_krust", *args], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """dist/krust/my-app-1.0.oci.tar and an OCI layout beside it, as a build leaves them."""
    layout = Layout.create(tmp_path / "dist" / "krust" / "layout")
    random_index(layout, [Platform("linux", "amd64")], tag="1.0")
    write_archive(layout, tmp_path / "dist" / "krust" / "my-app-1.0.oci.tar")
    return tmp_path


@pytest.mark.parametrize("command", ["inspect", "verify", "sbom", "copy"])
def test_a_bare_archive_path_is_named_with_its_transport(built: Path, command: str) -> None:
    args = [command, "dist/krust/my-app-1.0.oci.tar"]
    done = _hatch_krust(built, *args, *(["oci:out"] if command == "copy" else []))
    assert done.returncode == 1, done.stderr
    assert "docker.io" not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        "'dist/krust/my-app-1.0.oci.tar' is a file here, not a registry reference: "
        "write oci-archive:dist/krust/my-app-1.0.oci.tar"
    ), done.stderr


def test_push_of_a_bare_archive_path_says_how_to_name_it(built: Path) -> None:
    done = _hatch_krust(built, "push", "dist/krust/my-app-1.0.oci.tar", "127.0.0.1:9/a/b:1")
    assert done.returncode == 1
    assert "use `copy` between registries" not in done.stderr
    assert "write oci-archive:dist/krust/my-app-1.0.oci.tar" in done.stderr, done.stderr


def test_a_bare_layout_directory_is_named_with_its_transport(built: Path) -> None:
    done = _hatch_krust(built, "inspect", "dist/krust/layout")
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        "'dist/krust/layout' is an OCI layout here, not a registry reference: "
        "write oci:dist/krust/layout"
    ), done.stderr


def test_the_transport_form_still_works(built: Path) -> None:
    done = _hatch_krust(built, "inspect", "oci-archive:dist/krust/my-app-1.0.oci.tar")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", ["verify", "sbom"])
def test_verify_and_sbom_of_a_layout_say_they_read_a_registry(built: Path, command: str) -> None:
    done = _hatch_krust(built, command, "oci-archive:dist/krust/my-app-1.0.oci.tar")
    assert done.returncode == 1
    message = done.stderr.strip()
    assert "bad registry host" not in message, message
    assert message.startswith(
        f"hatch-krust: error: {command} reads the documents attached to an image in a "
        "registry; 'oci-archive:dist/krust/my-app-1.0.oci.tar' is a local layout"
    ), message
    assert "push it" in message and ".cdx.json" in message, message
