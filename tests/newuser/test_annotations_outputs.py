"""Issue 12 through real builds of one small project (one freeze, then the cache):
`annotations` read back with skopeo from the pushed index and manifest; switching the
SBOM format leaves only the new one; `KRUST_OUTPUT_DIR` moves the target's outputs."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import build_env, hatchling_build
from tests.infra.registry import start_registry
from tests.newuser.conftest import PROBE_STEM, probe_app

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.registry]

STEM = PROBE_STEM


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return probe_app(
        tmp_path_factory.mktemp("annotated"),
        krust='format = "static"\nbase-image = "scratch"\n'
        'annotations = { "com.example.team" = "web", '
        '"org.opencontainers.image.title" = "The Annotated" }\n',
    )


def skopeo_raw(ref: str) -> dict[str, object]:
    done = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", ref],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_annotations_are_on_the_pushed_index_and_manifest(
    project: Path, cache_dir: Path, tmp_path: Path
) -> None:
    with start_registry(tmp_path / "registry") as registry:
        env = build_env(
            cache_dir,
            KRUST_REPOSITORY=f"{registry.host}/exact/name",  # the whole name, as given
            KRUST_ANNOTATIONS="com.example.ci=run-7",  # the environment replaces the table
        )
        done = hatchling_build(project, "krust", env)
        assert done.returncode == 0, done.stderr
        reference = done.stdout.strip().splitlines()[-1]
        assert reference.startswith(f"{registry.host}/exact/name@sha256:")
        index = skopeo_raw(f"docker://{reference}")
        digest = index["manifests"][0]["digest"]  # type: ignore[index]
        manifest = skopeo_raw(f"docker://{registry.host}/exact/name@{digest}")
    for document in (index, manifest):
        annotations = document["annotations"]
        assert annotations["com.example.ci"] == "run-7"  # type: ignore[index]
        assert annotations["org.opencontainers.image.title"] == "probe-app"  # type: ignore[index]
        assert annotations["org.opencontainers.image.version"] == "0.3.0"  # type: ignore[index]
        assert "com.example.team" not in annotations  # type: ignore[operator]

    table = hatchling_build(project, "krust", build_env(cache_dir))
    assert table.returncode == 0, table.stderr
    archive = f"oci-archive:{project / 'dist' / 'krust' / f'{STEM}.oci.tar'}"
    local = skopeo_raw(archive)
    assert local["annotations"]["com.example.team"] == "web"  # type: ignore[index]
    # given explicitly, ours is replaced
    assert local["annotations"]["org.opencontainers.image.title"] == "The Annotated"  # type: ignore[index]


def test_switching_the_sbom_format_leaves_only_the_new_one(project: Path, cache_dir: Path) -> None:
    out = project / "dist" / "krust"
    first = hatchling_build(project, "krust", build_env(cache_dir))
    assert first.returncode == 0, first.stderr
    assert (out / f"{STEM}.cdx.json").is_file()
    second = hatchling_build(project, "krust", build_env(cache_dir, KRUST_SBOM="spdx"))
    assert second.returncode == 0, second.stderr
    assert (out / f"{STEM}.spdx.json").is_file()
    assert not (out / f"{STEM}.cdx.json").exists()
    third = hatchling_build(project, "krust", build_env(cache_dir, KRUST_SBOM="none"))
    assert third.returncode == 0, third.stderr
    assert not (out / f"{STEM}.spdx.json").exists()
    assert (out / f"{STEM}.provenance.json").is_file()


def test_the_target_writes_to_krust_output_dir(project: Path, cache_dir: Path) -> None:
    for target, made in (("krust", f"{STEM}.oci.tar"), ("krust:binary", None)):
        done = hatchling_build(project, target, build_env(cache_dir, KRUST_OUTPUT_DIR="images"))
        assert done.returncode == 0, done.stderr
        written = done.stdout.strip().splitlines()[-1]
        assert written.startswith(str(project / "images") + "/"), done.stdout
        if made:
            assert (project / "images" / made).is_file()
