"""What scripts can rely on (docs/cli.md, "For scripts"), under `python -m hatchling build`,
where hatchling itself writes nothing to stdout: exactly one line there, ours — the
reference when pushed or loaded, else the archive's path (`-t krust`) or the executable's
(`-t krust:binary`) — and on stderr one line per event, in one style.

One real freeze of a dependency-free project, reused from the cache by every other build
here; pushes go to the real registry the test starts (tests/infra/registry.py); the load
goes into podman, started by the test (tests/infra/engines.py).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project
from tests.infra.engines import Podman, engine_binary

if TYPE_CHECKING:
    from subprocess import CompletedProcess

    from tests.infra.registry import RegistryServer

pytestmark = [pytest.mark.slow, pytest.mark.registry, pytest.mark.runtime]

APP = 'def main():\n    print("hi from krust")\n'
OUT = ("dist", "krust")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("contract"),
        name="say-hi",
        version="0.2.0",
        scripts={"say-hi": "say_hi.app:main"},
        files={"say_hi/app.py": APP},
        krust='format = "static"\nbase-image = "scratch"\n',
    )


def build(project: Path, target: str, cache_dir: Path, **env: str) -> CompletedProcess[str]:
    done = hatchling_build(project, target, build_env(cache_dir, **env))
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def assert_one_event_per_line(stderr: str) -> None:
    """No line twice, and our lines in sentence case (hatchling's own excepted)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    repeated = [line for line, n in Counter(lines).items() if n > 1]
    assert not repeated, stderr
    ours = [line for line in lines if not line.startswith(("[", "dist/", "/"))]
    assert all(line[0].isupper() and not line.endswith(".") for line in ours), stderr


def test_binary_prints_the_executable(project: Path, cache_dir: Path) -> None:
    done = build(project, "krust:binary", cache_dir)
    executable = project.joinpath(*OUT, "say-hi-0.2.0-linux-amd64")
    assert done.stdout.splitlines() == [str(executable)]
    assert_one_event_per_line(done.stderr)
    named = [line for line in done.stderr.splitlines() if str(executable) in line]
    assert named == [f"Static executable: {executable}"]
    pushed_env = build(project, "krust:binary", cache_dir, KRUST_REPO="127.0.0.1:1/never")
    assert pushed_env.stdout.splitlines() == [str(executable)]  # a binary is never pushed


def test_image_kept_local_prints_the_archive(project: Path, cache_dir: Path) -> None:
    done = build(project, "krust", cache_dir)
    archive = project.joinpath(*OUT, "say-hi-0.2.0.oci.tar")
    assert done.stdout.splitlines() == [str(archive)]
    assert_one_event_per_line(done.stderr)
    record = json.loads(project.joinpath(*OUT, "say-hi-0.2.0.build.json").read_text())
    digest = record["index"]["digest"]
    (platform,) = record["platforms"]
    assert [line for line in done.stderr.splitlines() if digest in line] == [
        f"Built the image {digest} in {archive} (the index: the digest to deploy; "
        f"its linux/amd64 manifest is {platform['digest']})"
    ]  # once: the archive is not announced twice
    assert not project.joinpath(*OUT, "say-hi-0.2.0.ref").exists()


def test_image_pushed_prints_the_reference(
    project: Path, cache_dir: Path, registry: RegistryServer
) -> None:
    done = build(project, "krust", cache_dir, KRUST_REPO=f"{registry.host}/team")
    ref = project.joinpath(*OUT, "say-hi-0.2.0.ref").read_text().strip()
    assert ref.startswith(f"{registry.host}/team/say-hi@sha256:")
    assert done.stdout.splitlines() == [ref]
    assert_one_event_per_line(done.stderr)
    assert f"Pushed {ref}" in done.stderr.splitlines()


def test_image_loaded_prints_the_local_name(
    project: Path, cache_dir: Path, tmp_path: Path
) -> None:
    podman = Podman(tmp_path / "podman")
    storage = tmp_path / "podman" / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{podman.directory / "root"}"\n'
        f'runroot = "{podman.runroot}"\n'
    )
    engines = tmp_path / "engines"
    engines.mkdir()
    (engines / "podman").symlink_to(engine_binary("podman"))
    env = {
        "KRUST_REPO": "krust.local",
        "PATH": f"{engines}{os.pathsep}{os.environ['PATH']}",
        "KRUST_LOCAL_ENGINE": "podman",
        "CONTAINERS_STORAGE_CONF": str(storage),
        "CONTAINERS_CONF": str(podman.conf),
    }
    os.environ["CONTAINERS_STORAGE_CONF"] = str(storage)  # for the test's own podman calls
    try:
        done = build(project, "krust", cache_dir, **env)
        assert done.stdout.splitlines() == ["krust.local/say-hi:0.2.0"]
        assert_one_event_per_line(done.stderr)
        ran = podman("run", "--rm", "--network", "none", "krust.local/say-hi:0.2.0")
        assert ran.stdout == "hi from krust\n"
    finally:
        podman.reset()
        del os.environ["CONTAINERS_STORAGE_CONF"]
