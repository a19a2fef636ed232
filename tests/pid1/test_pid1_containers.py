"""hatch_krust/pid1.py as PID 1 under runc, in both formats, built by `hatchling build`.

The demo project (tests/layered/project) is built once as a layered image and once as a
static one; each runs with runc on a read-only root and is stopped with `runc kill`,
which signals the container's PID 1: the layered image's launcher (pid1.py itself) or
staticx's bootloader (whose grandchild, the frozen launcher, embeds pid1.py). Without
the init the layered program would ignore SIGTERM and the static one would end with 2.
Units of the same module, without root: tests/pid1/test_pid1.py.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from hatch_krust.oci.layout import Layout
from tests.e2e.conftest import build_env, hatchling_build
from tests.layered.conftest import PROJECT, run, started, stop_with

pytestmark = [pytest.mark.infra, pytest.mark.runtime]

STEM = "krust-layered-demo-1.0.0"
FORMATS = ("layered", pytest.param("static", marks=pytest.mark.slow))
# The static format unpacks itself into /tmp at each start: a small tmpfs there.
SCRATCH = {"layered": None, "static": "/tmp"}


def _build(fmt: str, root: Path, cache: Path) -> Path:
    """Build the demo project in format `fmt` (base `scratch`); its layout, tag `latest`."""
    project = root / "project"
    shutil.copytree(PROJECT, project)
    env = build_env(cache, KRUST_FORMAT=fmt, KRUST_BASE_IMAGE="scratch")
    done = hatchling_build(project, "krust", env)
    assert done.returncode == 0, done.stderr[-4000:]
    layout = root / "layout"
    with tarfile.open(project / "dist" / "krust" / f"{STEM}.oci.tar") as archive:
        archive.extractall(layout, filter="data")
    opened = Layout.open(layout)
    opened.add_manifest(opened.resolve("1.0.0"), "latest")
    return layout


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pid1-cache")


@pytest.fixture(scope="module", params=FORMATS)
def image(
    request: pytest.FixtureRequest, cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    fmt = str(request.param)
    return fmt, _build(fmt, tmp_path_factory.mktemp(f"pid1-{fmt}"), cache)


@pytest.mark.parametrize(
    ("command", "signal", "expected"),
    [("wait", "TERM", 143), ("wait", "INT", 130), ("wait-handler", "TERM", 7)],
    ids=["TERM-no-handler", "INT-no-handler", "TERM-handler"],
)
def test_a_signal_to_pid_1_ends_the_program_as_under_an_init(
    image: tuple[str, Path], tmp_path: Path, command: str, signal: str, expected: int
) -> None:
    fmt, layout = image
    with started(layout, tmp_path, [command], scratch=SCRATCH[fmt]) as running:
        status, seconds, output = stop_with(running, signal)
    assert status == expected, output
    assert seconds < 1.0
    assert "unknown reason" not in output  # staticx's bootloader's own ending (status 2)
    if command == "wait-handler":
        assert output.strip() == "handled 15"
    elif signal == "INT":
        assert "KeyboardInterrupt" in output


def test_an_orphan_is_reaped(image: tuple[str, Path], tmp_path: Path) -> None:
    """The program leaves a process whose parent has ended: PID 1 gets it, and must reap it."""
    fmt, layout = image
    scratch = SCRATCH[fmt]
    done = run(layout, tmp_path, ["orphan"], **({"scratch": scratch} if scratch else {}))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["pid"] != 1, "the program is the init's child"
    assert seen["zombies"] == []
