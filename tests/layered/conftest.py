"""Layered-image fixtures: the demo project installed in a venv, laid out, assembled, run.

The venv (PyPI: pyyaml 6.0.2 with its compiled loader) and the first image are session
fixtures; every build helper takes its own cache directory so a test can show what a
clean build, or a rebuild after a change, produces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hatch_krust.layered import (
    BuiltLayer,
    assemble_layered,
    build_layers,
    entrypoint,
    host_interpreter,
    plan_layers,
)
from hatch_krust.layered.plan import LayeredPlan
from hatch_krust.oci.assemble import BaseImage, ImageOptions
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout
from hatch_krust.python import create_environment, probe_interpreter
from tests.freeze.conftest import PYENV_PYTHON, build_wheel
from tests.infra.runtime import _prepare_bundle

PROJECT = Path(__file__).parent / "project"
NAME = "krust-layered-demo"
SCRIPT = "krust-layered"
EPOCH = 1_700_000_000
PLATFORM = Platform("linux", "amd64")


@dataclass(frozen=True)
class Built:
    """A layered image in a layout (tag `latest`), its layers and its plan."""

    layout: Path
    layers: tuple[BuiltLayer, ...]
    plan: LayeredPlan


def install(project: Path, root: Path, python: str = PYENV_PYTHON) -> Path:
    """The project's wheel and its dependencies in a fresh venv (what the build will hand us)."""
    wheel = build_wheel(project, root / "wheel")
    venv = root / "venv"
    create_environment(python, venv, [str(wheel)], env=os.environ)
    return venv


def build_image(
    venv: Path,
    root: Path,
    cache: Path,
    base: BaseImage | None = None,
    user: str = "65532",
    python: str = PYENV_PYTHON,
) -> Built:
    """Plan, build (through `cache`) and assemble the layered image of `venv` under `root`."""
    work = root / "work"
    work.mkdir(parents=True)
    plan = plan_layers(host_interpreter(probe_interpreter(python, os.environ)), venv, NAME, work)
    layers = build_layers(plan, cache, epoch=EPOCH)
    layout = Layout.create(root / "image")
    options = ImageOptions(SCRIPT, PLATFORM, epoch=EPOCH, user=user)
    index = assemble_layered(base, layers, options, layout, entrypoint=entrypoint(plan, SCRIPT))
    layout.add_manifest(index, "latest")
    return Built(root / "image", layers, plan)


@pytest.fixture(scope="session")
def demo_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(PROJECT, tmp_path_factory.mktemp("layered-env"))


@pytest.fixture(scope="session")
def layer_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("layered-cache")


@pytest.fixture(scope="session")
def demo_image(
    demo_venv: Path, layer_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    return build_image(demo_venv, tmp_path_factory.mktemp("layered-image"), layer_cache)


def _image_entrypoint(layout: Path) -> list[str]:
    opened = Layout.open(layout)
    index = json.loads(opened.blob_path(opened.resolve("latest").digest).read_bytes())
    manifest = json.loads(opened.blob_path(index["manifests"][0]["digest"]).read_bytes())
    config = json.loads(opened.blob_path(manifest["config"]["digest"]).read_bytes())
    return list(config["config"]["Entrypoint"])


def bundle(layout: Path, tmp_path: Path, args: list[str], *, scratch: str | None = None) -> Path:
    """A runc bundle with a READ-ONLY root and no /tmp volume; `args` replace Cmd.

    `scratch` mounts a small tmpfs there (for the venv test: `python -m venv` must write).
    """
    path = _prepare_bundle(layout, "latest", tmp_path, timeout=120, args=None, host_network=False)
    config_path = path / "config.json"
    config = json.loads(config_path.read_text())
    config["root"]["readonly"] = True
    config["process"]["args"] = [*_image_entrypoint(layout), *args]
    mounts = [m for m in config["mounts"] if m["destination"] != "/tmp"]
    if scratch:
        options = ["nosuid", "nodev", "mode=1777", "size=65536k"]
        mounts.append(
            {"destination": scratch, "type": "tmpfs", "source": "tmpfs", "options": options}
        )
    config["mounts"] = mounts
    config_path.write_text(json.dumps(config))
    return path


def run(
    layout: Path, tmp_path: Path, args: list[str], **kw: str
) -> subprocess.CompletedProcess[str]:
    path = bundle(layout, tmp_path, args, **kw)
    name = f"krust-layered-{uuid.uuid4().hex[:12]}"
    try:
        return subprocess.run(
            ["runc", "run", "--bundle", str(path), name],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Started:
    name: str
    process: subprocess.Popen[str]


@contextmanager
def started(
    layout: Path, tmp_path: Path, args: list[str], scratch: str | None = None
) -> Iterator[Started]:
    """Run in the background until it prints `ready`; killed and deleted afterwards.

    `scratch`: a tmpfs there (the static format needs a writable, executable /tmp).
    """
    path = bundle(layout, tmp_path, args, scratch=scratch)
    name = f"krust-layered-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(
        ["runc", "run", "--bundle", str(path), name],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "ready", (
            f"{line!r} {process.stderr.read() if process.stderr else ''}"
        )
        yield Started(name, process)
    finally:
        if process.poll() is None:
            subprocess.run(["runc", "kill", name, "KILL"], capture_output=True, check=False)
            process.wait(timeout=30)
        subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)


def stop_with(running: Started, signal_name: str) -> tuple[int, float, str]:
    """Send `signal_name` to PID 1; (exit status, seconds until it ended, remaining output)."""
    start = time.monotonic()
    subprocess.run(["runc", "kill", running.name, signal_name], check=True, capture_output=True)
    try:
        out, err = running.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        return -1, time.monotonic() - start, ""
    return running.process.returncode, time.monotonic() - start, out + err
