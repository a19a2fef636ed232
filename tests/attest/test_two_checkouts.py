"""Two checkouts of the same project at different paths, each with the same local `oci:`
base at a different path, give the same image and the same documents: nothing of the
build machine's file system is published (the executable is frozen once: the cache)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.attest.conftest import build, yaml_project
from tests.infra.images import BASE_TAG

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def test_two_checkouts_publish_the_same_bytes(
    tmp_path: Path, cache_dir: Path, base_layout: Path
):
    outputs = []
    for where in ("first/checkout", "elsewhere/deeper/clone"):
        root = tmp_path / where
        base = tmp_path / f"bases-{len(outputs)}" / "debian"
        shutil.copytree(base_layout, base)
        project = yaml_project(root, None)
        built = build(project, cache_dir, KRUST_BASE_IMAGE=f"oci:{base}:{BASE_TAG}")
        outputs.append((built, project, base))
    (one, project_one, base_one), (two, project_two, base_two) = outputs
    records = [json.loads(b.file(".build.json").read_text()) for b in (one, two)]
    assert records[0]["index"] == records[1]["index"]
    assert records[0]["base"] == {"name": f"oci:debian:{BASE_TAG}",
                                  "digest": records[1]["base"]["digest"]}  # fmt: skip
    for suffix in (".provenance.json", ".cdx.json", ".oci.tar"):
        assert one.file(suffix).read_bytes() == two.file(suffix).read_bytes(), suffix
    provenance = one.file(".provenance.json").read_text()
    for local in (tmp_path, project_one, base_one, project_two, base_two):
        assert str(local) not in provenance
    options = json.loads(provenance)["predicate"]["buildDefinition"]["externalParameters"]
    assert options["options"]["base-image"] == f"oci:debian:{BASE_TAG}"
    assert "/" not in options["options"]["python"]
