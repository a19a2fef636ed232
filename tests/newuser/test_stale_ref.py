"""`dist/krust/<name>-<version>.ref` names the push of the build beside it. Pipelines read
it (`ref=$(cat dist/krust/*.ref)`), so after a later build that did not push — a local
build, or a push that failed — an earlier push's reference must not be left there to be
deployed in place of the image just built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build
from tests.infra.registry import start_registry
from tests.newuser.conftest import PROBE_STEM, probe_app


@pytest.mark.slow
def test_a_later_build_without_a_push_leaves_no_stale_ref(
    tmp_path: Path, cache_dir: Path
) -> None:
    project = probe_app(tmp_path, krust='format = "static"\nbase-image = "scratch"')
    out = project / "dist" / "krust"
    ref = out / f"{PROBE_STEM}.ref"
    record = out / f"{PROBE_STEM}.build.json"
    with (
        start_registry(tmp_path / "anonymous", "anonymous") as open_registry,
        start_registry(tmp_path / "basic", "basic") as closed_registry,
    ):
        assert closed_registry.tls is not None
        env = build_env(cache_dir, DOCKER_CONFIG=str(tmp_path / "no-credentials"))
        push = {**env, "KRUST_REPO": f"{open_registry.host}/team"}
        pushed = hatchling_build(project, "krust", push)
        assert pushed.returncode == 0, pushed.stderr
        assert ref.read_text().strip() == pushed.stdout.strip()

        local = hatchling_build(project, "krust", {**env, "KRUST_ENV": "MODE=local"})
        assert local.returncode == 0, local.stderr
        assert json.loads(record.read_text())["reference"] is None
        assert not ref.exists()

        pushed = hatchling_build(project, "krust", push)
        assert pushed.returncode == 0, pushed.stderr
        assert ref.is_file()
        # No credentials for this one: the push is refused after the new image was written.
        refused = {
            **env,
            "KRUST_REPO": f"{closed_registry.host}/team",
            "SSL_CERT_FILE": str(closed_registry.tls.cert),
            "KRUST_ENV": "MODE=refused",
        }
        failed = hatchling_build(project, "krust", refused)
        assert failed.returncode == 1, failed.stderr
        assert not ref.exists()
