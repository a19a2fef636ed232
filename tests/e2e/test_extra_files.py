"""`extra-files` through the real build (`python -m hatchling build -t krust`) in both formats,
on `scratch`: the files land at their image paths in a layer of their own, owned by root
with normalised modes, the SBOM lists them as the project's, and two clean builds (fresh
caches) give the same image digest. The zone database and LANG come along on scratch."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from hatch_krust.oci.layout import Layout
from tests.e2e.conftest import build_env, hatchling_build
from tests.layered.conftest import PROJECT

pytestmark = [pytest.mark.infra, pytest.mark.slow]

STEM = "krust-layered-demo-1.0.0"
EXTRA = "/srv/static=static,/etc/app/config.toml=deploy/config.toml"


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "static/css").mkdir(parents=True)
    (project / "static/css/site.css").write_text("body { color: teal }\n")
    (project / "static/run.sh").write_text("#!/bin/sh\necho hi\n")
    (project / "static/run.sh").chmod(0o700)
    (project / "deploy").mkdir()
    (project / "deploy/config.toml").write_text("answer = 42\n")
    (project / "deploy/config.toml").chmod(0o600)
    return project


def _build(project: Path, cache: Path, image_format: str) -> tuple[str, Layout, dict]:
    """One clean build: the index digest, the layout, the CycloneDX SBOM."""
    shutil.rmtree(project / "dist", ignore_errors=True)
    env = build_env(
        cache,
        KRUST_FORMAT=image_format,
        KRUST_BASE_IMAGE="scratch",
        KRUST_EXTRA_FILES=EXTRA,
        KRUST_PUSH="false",
    )
    done = hatchling_build(project, "krust", env)
    assert done.returncode == 0, done.stderr[-4000:]
    out = project / "dist" / "krust"
    layout_dir = cache.parent / f"layout-{cache.name}"
    with tarfile.open(out / f"{STEM}.oci.tar") as archive:
        archive.extractall(layout_dir, filter="data")
    layout = Layout.open(layout_dir)
    index = layout.resolve("1.0.0")
    sbom = json.loads((out / f"{STEM}.cdx.json").read_text())
    return index.digest, layout, sbom


def _layers(layout: Layout, digest: str) -> tuple[dict, dict[str, dict[str, tarfile.TarInfo]]]:
    """The image config and, by history comment, each of our layers' members."""
    index = layout.read_json(digest)
    manifest = layout.read_json(index["manifests"][0]["digest"])
    config = layout.read_json(manifest["config"]["digest"])
    comments = [h.get("comment", "") for h in config["history"] if not h.get("empty_layer")]
    members: dict[str, dict[str, tarfile.TarInfo]] = {}
    for comment, layer in zip(comments, manifest["layers"], strict=True):
        with layout.open_blob(layer["digest"]) as blob:
            data = io.BytesIO(blob.read())
        with tarfile.open(fileobj=data) as tar:
            members[comment] = {m.name: m for m in tar.getmembers()}
    return config, members


@pytest.mark.parametrize("image_format", ["layered", "static"])
def test_extra_files_land_in_their_own_layer_reproducibly(
    tmp_path: Path, image_format: str
) -> None:
    project = _project(tmp_path)
    first, layout, sbom = _build(project, tmp_path / "cache-1", image_format)
    config, layers = _layers(layout, first)
    extra = next(m for c, m in layers.items() if "extra-files" in c)
    assert extra["etc/app/config.toml"].mode == 0o644  # 0600 in the project
    assert extra["srv/static/run.sh"].mode == 0o755
    assert extra["srv/static/css/site.css"].mode == 0o644
    assert {(m.uid, m.gid) for m in extra.values()} == {(0, 0)}
    zones = next(m for c, m in layers.items() if "time zone" in c)
    assert "usr/share/zoneinfo/Europe/Oslo" in zones
    assert "LANG=C.UTF-8" in config["config"]["Env"]
    project_component = next(
        c for c in sbom["components"] if c.get("name") == "krust-layered-demo"
    )
    files = {c["name"] for c in project_component.get("components", [])}
    assert {"/etc/app/config.toml", "/srv/static/css/site.css"} <= files, files
    names = {c["name"] for c in sbom["components"]}
    assert "zoneinfo" in names, names
    second, _, _ = _build(project, tmp_path / "cache-2", image_format)
    assert first == second, "two clean builds give the same image"
