"""hatch-krust built by itself: `hatch build -t krust:binary` on this repository makes a
static `hatch-krust` that pushes, copies and inspects from an empty root."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hatch_krust.oci.layout import Layout, write_archive
from tests.e2e.conftest import REPO, build_env, hatch_build, only_file
from tests.infra.registry import random_image, start_registry
from tests.infra.runtime import run_in_chroot

pytestmark = [pytest.mark.slow, pytest.mark.runtime, pytest.mark.registry]


def _tracked_copy(destination: Path) -> Path:
    """The repository as a fresh clone would have it: tracked files only, no dist/ or .venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def self_executable(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    checkout = _tracked_copy(tmp_path_factory.mktemp("self") / "hatch-krust")
    home = tmp_path_factory.mktemp("hatch-home")
    result = hatch_build(checkout, "krust:binary", build_env(cache_dir), home)
    assert result.returncode == 0, result.stdout + result.stderr
    return only_file(checkout / "dist" / "krust")


def test_the_executable_is_hatch_krust(self_executable: Path, tmp_path: Path) -> None:
    assert self_executable.name.startswith("hatch-krust-")
    from hatch_krust.__about__ import __version__

    shown = run_in_chroot(self_executable, ["--version"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"hatch-krust {__version__}"


def test_push_inspect_and_copy_from_an_empty_root(self_executable: Path, tmp_path: Path) -> None:
    layout = Layout.create(tmp_path / "layout")
    manifest = random_image(layout, layers=2, size=4096, tag="v1")
    archive = tmp_path / "image.oci.tar"
    write_archive(layout, archive, epoch=0)
    with start_registry(tmp_path / "registry") as registry:
        ref = f"{registry.host}/self/built:v1"
        files = {"/work/image.oci.tar": archive}
        pushed = run_in_chroot(
            self_executable, ["push", "oci-archive:/work/image.oci.tar:v1", ref], tmp_path,
            files=files,
        )
        assert pushed.returncode == 0, pushed.stderr
        assert pushed.stdout.strip() == f"{registry.host}/self/built@{manifest.digest}"

        inspected = run_in_chroot(self_executable, ["inspect", "--raw", ref], tmp_path)
        assert inspected.returncode == 0, inspected.stderr
        document = json.loads(inspected.stdout)
        assert len(document["layers"]) == 2

        copied = run_in_chroot(
            self_executable, ["copy", ref, f"{registry.host}/self/copied:v2"], tmp_path
        )
        assert copied.returncode == 0, copied.stderr
        seen = subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", "--raw",
             f"docker://{registry.host}/self/copied:v2"],
            capture_output=True, text=True, check=True, timeout=60,
        )
        assert json.loads(seen.stdout)["layers"] == document["layers"]
