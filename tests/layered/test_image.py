"""Layered images for real: built from a venv, run with umoci + runc on a read-only root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hatch_krust.oci.assemble import BaseImage
from hatch_krust.oci.layout import Layout
from tests.freeze.conftest import DEBIAN_PYTHON
from tests.infra.images import BASE_TAG, make_umoci_base
from tests.layered.conftest import (
    PROJECT,
    Built,
    build_image,
    install,
    run,
)

pytestmark = [pytest.mark.infra, pytest.mark.runtime]


def report(built: Built, tmp_path: Path, *args: str) -> dict[str, object]:
    process = run(built.layout, tmp_path, list(args))
    assert process.returncode == 0, process.stderr
    return dict(json.loads(process.stdout))


def test_runs_on_a_read_only_root_without_tmp(demo_image: Built, tmp_path: Path):
    seen = report(demo_image, tmp_path)
    assert seen["cloader"] is True, "PyYAML's compiled loader is importable"
    assert seen["yaml"] == {"answer": 42}
    assert seen["data"] == "hello from the data file"
    assert seen["version"] == "1.0.0", "importlib.metadata finds the distribution"
    assert (seen["executable"], seen["prefix"]) == ("/app/bin/python", "/app")
    assert seen["base_prefix"] == "/opt/python"
    assert (seen["argv0"], seen["path0"]) == ("/app/bin/krust-layered", "/app/bin")
    assert seen["pid"] != 1, "the launcher is PID 1, the program its child"


def test_runs_on_a_base_image_as_its_user(demo_venv: Path, layer_cache: Path, tmp_path: Path):
    base = BaseImage.from_layout(Layout.open(make_umoci_base(tmp_path / "base")), BASE_TAG)
    built = build_image(demo_venv, tmp_path / "build", layer_cache, base, user="app")
    seen = report(built, tmp_path)
    assert seen["cloader"] is True
    assert (seen["uid"], seen["user"]) == (1000, "app")
    assert seen["lang"] == "C.UTF-8", "the base's Env is kept"
    assert seen["cwd"] == "/srv", "and its WorkingDir"
    path = seen["path"]
    assert isinstance(path, str)
    assert path.startswith("/app/bin:")


def test_debians_interpreter_is_a_source_too(tmp_path: Path):
    venv = install(PROJECT, tmp_path / "env", DEBIAN_PYTHON)
    built = build_image(venv, tmp_path / "build", tmp_path / "cache", python=DEBIAN_PYTHON)
    seen = report(built, tmp_path)
    assert (seen["cloader"], seen["data"]) == (True, "hello from the data file")
    assert seen["base_prefix"] == "/opt/python"
    assert built.plan.interpreter.package.startswith("python3"), "named for the SBOM"


def test_python_m_venv_uses_the_images_own_python(demo_image: Built, tmp_path: Path):
    process = run(demo_image.layout, tmp_path, ["venv", "/scratch/env"], scratch="/scratch")
    assert process.returncode == 0, process.stderr
    assert process.stdout.split() == ["/scratch/env", "/opt/python"]


def test_a_project_change_rebuilds_only_the_top_layer(
    demo_image: Built, layer_cache: Path, tmp_path: Path
):
    changed = tmp_path / "project"
    shutil.copytree(PROJECT, changed)
    init = changed / "src/krust_layered/__init__.py"
    init.write_text(init.read_text().replace('"original"', '"changed"'))
    again = build_image(install(changed, tmp_path / "env"), tmp_path / "build", layer_cache)
    before = [b.layer.digest for b in demo_image.layers]
    after = [b.layer.digest for b in again.layers]
    assert after[:-1] == before[:-1], "system libraries, interpreter, third-party unchanged"
    assert after[-1] != before[-1]
    assert [b.cached for b in again.layers] == [True, True, True, False]
    assert report(again, tmp_path)["change"] == "changed"


def test_two_clean_builds_give_identical_layers(demo_venv: Path, tmp_path: Path):
    first = build_image(demo_venv, tmp_path / "one", tmp_path / "cache-one")
    second = build_image(demo_venv, tmp_path / "two", tmp_path / "cache-two")
    assert [b.layer.digest for b in first.layers] == [b.layer.digest for b in second.layers]
    assert not any(b.cached for b in second.layers)
    one = json.loads((first.layout / "index.json").read_text())["manifests"]
    two = json.loads((second.layout / "index.json").read_text())["manifests"]
    assert one == two
