"""`krust.local`: the build flow loads its image into Docker's 20.10 engine and into podman,
for real, and the name it prints is what `docker run` / `podman run` accept.

The image is built by the real flow (`build_and_publish`, base `scratch`) around the
tiny static probe (tests/oci/probe.c) as the stand-in for a frozen executable; the
engines are started by the tests with their state in temporary directories
(tests/infra/engines.py) and reached only through the environment the build is given
(`DOCKER_HOST`, `CONTAINERS_STORAGE_CONF`), as a user's would be.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hatch_krust.formats.static
from hatch_krust.building.image import ProjectFacts
from hatch_krust.config import load_config
from hatch_krust.errors import EngineError
from hatch_krust.flow import build_and_publish
from hatch_krust.formats.executable import BinaryResult
from hatch_krust.inputs import BuildInputs
from tests.heard import Heard
from tests.infra.engines import DockerDaemon, Podman, engine_binary, start_docker

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.infra, pytest.mark.runtime]


@pytest.fixture
def stand_in(probe: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe instead of a freeze: everything else is the real flow."""

    def build(inputs: BuildInputs, reporter: Any, out_dir: Path) -> BinaryResult:
        path = out_dir / f"hello-{inputs.version}-linux-amd64"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(probe, path)
        return BinaryResult(path=path, cached=False, script="hello")

    monkeypatch.setattr(hatch_krust.formats.static, "build_executable", build)


def engines_path(tmp_path: Path, *names: str) -> str:
    """PATH with Debian's engine clients first (not a newer client elsewhere on PATH)."""
    directory = tmp_path / "engines"
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).symlink_to(engine_binary(name))
    return f"{directory}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


def build(tmp_path: Path, environ: dict[str, str], **table: Any) -> Any:
    env = {
        **environ,
        "KRUST_CACHE_DIR": str(tmp_path / "cache"),
        "SOURCE_DATE_EPOCH": "1700000000",
    }
    table = {"format": "static", "base-image": "scratch", **table}
    config = load_config(table, env=env, user_defaults={})
    (tmp_path / "project").mkdir(exist_ok=True)
    inputs = BuildInputs(
        root=tmp_path / "project",
        dist_name="hello",
        version="1.2.3",
        scripts={"hello": "hello:main"},
        config=config,
        epoch=1700000000,
        out_dir=tmp_path / "dist" / "krust",
    )
    reporter = Heard()
    return build_and_publish(inputs, ProjectFacts(), reporter), reporter.lines


def assert_probe_ran(output: str) -> None:
    lines = output.splitlines()
    assert "arg0=/app/hello" in lines, output
    assert "uid=65532" in lines, output


def assert_recorded(outcome: Any, name: str) -> None:
    """The reference is the local name, in the outcome, the record and the `.ref` file."""
    assert outcome.reference == name
    assert json.loads(outcome.record_path.read_text())["reference"] == name
    assert (outcome.record_path.parent / "hello-1.2.3.ref").read_text() == f"{name}\n"


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerDaemon]:
    with start_docker(tmp_path_factory.mktemp("dockerd")) as daemon:
        yield daemon


def docker_env(daemon: DockerDaemon, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": engines_path(tmp_path, "docker"),
        "DOCKER_HOST": f"unix://{daemon.socket}",
        "DOCKER_CONFIG": str(daemon.directory / "client"),
        "KRUST_REPO": "krust.local",
    }


def test_docker_20_loads_tags_and_runs_it(
    dockerd: DockerDaemon, tmp_path: Path, stand_in: None
) -> None:
    outcome, lines = build(tmp_path, docker_env(dockerd, tmp_path))
    assert_recorded(outcome, "krust.local/hello:1.2.3")
    assert "Loaded krust.local/hello:1.2.3 into docker (tags: latest)" in lines
    listed = dockerd.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(listed) == ["krust.local/hello:1.2.3", "krust.local/hello:latest"]
    for name in ("krust.local/hello:1.2.3", "krust.local/hello:latest"):
        ran = dockerd.docker("run", "--rm", "--network", "none", name)
        assert_probe_ran(ran.stdout)


def test_docker_without_its_daemon_is_one_line_with_its_words(
    dockerd: DockerDaemon, tmp_path: Path, stand_in: None
) -> None:
    env = {**docker_env(dockerd, tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    with pytest.raises(EngineError) as caught:
        build(tmp_path, env)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("`docker load -i hello-1.2.3.oci.tar` failed (exit status 1): ")
    assert "Cannot connect to the Docker daemon" in message  # the engine's own words
    assert "KRUST_LOCAL_ENGINE=podman" in message
    out = tmp_path / "dist" / "krust"
    assert (out / "hello-1.2.3.oci.tar").is_file()  # the build stays; nothing says it loaded
    assert not (out / "hello-1.2.3.ref").exists()


@pytest.fixture
def podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Podman]:
    """The tests' podman, with its storage named by the environment, so the build's
    `podman load` (which gets no --root) stores into the same place."""
    engine = Podman(tmp_path / "podman")
    storage = tmp_path / "podman" / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{engine.directory / "root"}"\n'
        f'runroot = "{engine.runroot}"\n'
    )
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(storage))
    monkeypatch.setenv("CONTAINERS_CONF", str(engine.conf))
    try:
        yield engine
    finally:
        engine.reset()


def test_podman_loads_tags_and_runs_it(podman: Podman, tmp_path: Path, stand_in: None) -> None:
    env = {
        **os.environ,
        "PATH": engines_path(tmp_path, "docker", "podman"),  # both there: the variable chooses
        "KRUST_LOCAL_ENGINE": "podman",
        "KRUST_REPO": "krust.local/team",
    }
    outcome, lines = build(tmp_path, env, tags=["{version}", "dev"])
    assert_recorded(outcome, "krust.local/team/hello:1.2.3")
    assert "Loaded krust.local/team/hello:1.2.3 into podman (tags: dev)" in lines
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(listed) == ["krust.local/team/hello:1.2.3", "krust.local/team/hello:dev"]
    ran = podman("run", "--rm", "--network", "none", "krust.local/team/hello:dev")
    assert_probe_ran(ran.stdout)


def test_repository_krust_local_in_the_table(
    podman: Podman, tmp_path: Path, stand_in: None
) -> None:
    only_podman = engines_path(tmp_path, "podman").split(os.pathsep)[0]
    env = {**os.environ, "PATH": only_podman, "KRUST_REPO": ""}  # podman is the one there
    env.pop("KRUST_LOCAL_ENGINE", None)
    outcome, _ = build(tmp_path, env, repository="krust.local", tags=["{version}"])
    assert_recorded(outcome, "krust.local/hello:1.2.3")
    ran = podman("run", "--rm", "--network", "none", outcome.reference)
    assert_probe_ran(ran.stdout)


def test_no_engine_on_path(tmp_path: Path, stand_in: None) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "KRUST_REPO": "krust.local"}
    with pytest.raises(EngineError, match="looked for docker and podman on PATH"):
        build(tmp_path, env)
    assert not (tmp_path / "dist").exists()
