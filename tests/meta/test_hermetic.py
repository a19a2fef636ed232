"""Every test runs in its own environment (tests/conftest.py `hermetic`): the machine's
HOME, credentials locations and KRUST_* variables never reach it, unless the test opts out
with `@pytest.mark.host_environment`. Checked from outside: a child pytest run started with
those variables set reports what its tests saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
REPORT = "HERMETIC_REPORT"  # where a child run's tests write the environment they saw


def _report(name: str) -> None:
    if os.environ.get(REPORT):
        Path(os.environ[REPORT], name).write_text(json.dumps(dict(os.environ)))


def test_a_test_sees_its_own_environment(hermetic: Path) -> None:
    _report("hermetic.json")
    assert os.environ["HOME"] == str(hermetic / "home")
    assert Path(os.environ["HOME"]).is_dir()
    for name in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "DOCKER_CONFIG"):
        assert os.environ[name].startswith(f"{hermetic}/"), name
    assert "REGISTRY_AUTH_FILE" not in os.environ
    assert not [name for name in os.environ if name.startswith("KRUST_")]


@pytest.mark.host_environment
def test_opting_out_keeps_the_process_environment(hermetic: Path | None) -> None:
    _report("host.json")
    assert hermetic is None


def test_the_machines_settings_do_not_reach_a_test(tmp_path: Path) -> None:
    machine = {
        "HOME": str(tmp_path / "machine-home"),
        "XDG_RUNTIME_DIR": "/run/user/4242",
        "DOCKER_CONFIG": str(tmp_path / "machine-docker"),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "KRUST_REPO": "ghcr.io/machine/default",
        "KRUST_INSECURE_REGISTRIES": "machine.example",
    }
    env = {**os.environ, **machine, REPORT: str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(HERE),
         "-k", "sees_its_own or opting_out"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
        cwd=HERE.parents[2],
    )
    assert done.returncode == 0, done.stdout[-3000:]
    seen = json.loads((tmp_path / "hermetic.json").read_text())
    assert not {name: seen.get(name) for name in machine if seen.get(name) == machine[name]}
    kept = json.loads((tmp_path / "host.json").read_text())
    assert {name: kept.get(name) for name in machine} == machine
