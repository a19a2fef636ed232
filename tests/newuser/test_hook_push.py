"""The wheel hook never pushes unasked (issue 12): pip shows none of a hook's output, so a
`pip wheel .` with `KRUST_REPO` in the environment once pushed silently. Now a repository
alone builds locally, says so in one line, in `<stem>.hook.log` and in the build record;
`KRUST_PUSH=1` pushes. Checked against the real registry's catalog."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.conftest import build_env, hatchling_build
from tests.infra.registry import start_registry
from tests.newuser.conftest import PROBE_STEM, probe_app

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.registry]


def catalog(host: str) -> list[str]:
    answer = httpx.get(f"http://{host}/v2/_catalog", timeout=10)
    answer.raise_for_status()
    return list(answer.json().get("repositories") or [])


def test_the_hook_pushes_only_when_asked(tmp_path: Path, cache_dir: Path) -> None:
    project = probe_app(
        tmp_path / "p",
        krust='format = "static"\nbase-image = "scratch"\n',
        extra="[tool.hatch.build.targets.wheel.hooks.krust]\n",
    )
    out = project / "dist" / "krust"
    with start_registry(tmp_path / "registry") as registry:
        env = build_env(cache_dir, KRUST_REPO=f"{registry.host}/team")
        quiet = hatchling_build(project, "wheel", env)
        assert quiet.returncode == 0, quiet.stderr
        assert catalog(registry.host) == []  # nothing pushed, not even a blob's repository
        assert "the wheel hook pushes only with `push = true`" in quiet.stderr
        log = (out / f"{PROBE_STEM}.hook.log").read_text()
        assert "built sha256:" in log
        assert "not pushed: a repository is known (Environment variable `KRUST_REPO`)" in log
        record = json.loads((out / f"{PROBE_STEM}.build.json").read_text())
        assert record["reference"] is None
        assert record["hook"]["pushed"] is False
        assert record["hook"]["log"] == f"{PROBE_STEM}.hook.log"
        assert not (out / f"{PROBE_STEM}.ref").exists()

        asked = hatchling_build(project, "wheel", {**env, "KRUST_PUSH": "1"})
        assert asked.returncode == 0, asked.stderr
        assert catalog(registry.host) == ["team/probe-app"]
        reference = (out / f"{PROBE_STEM}.ref").read_text().strip()
        assert reference.startswith(f"{registry.host}/team/probe-app@sha256:")
        assert f"pushed {reference}" in (out / f"{PROBE_STEM}.hook.log").read_text()
        record = json.loads((out / f"{PROBE_STEM}.build.json").read_text())
        assert record["hook"]["pushed"] is True
        assert record["reference"] == reference
