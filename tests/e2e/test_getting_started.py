"""docs/getting-started.md followed as a new user would: every file it shows is written and
every `$ ` command of "Your own project in five minutes" is run, in order, with the
output it shows checked. Only the registry (`ghcr.io/acme` -> a local one) and the
architecture in file names are put in for this machine."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, build_env
from tests.infra.registry import start_registry

pytestmark = [pytest.mark.slow, pytest.mark.registry]

PAGE = REPO / "docs" / "getting-started.md"
SECTION = "## Your own project in five minutes"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class Command:
    line: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class File:
    path: str
    text: str
    append: bool


def page_steps(text: str) -> list[Command | File]:
    """The section's code blocks in order: console commands, and files named by a first
    comment line (`# path` writes it, `# path (add at the end)` appends to it)."""
    section = text.split(SECTION, 1)[1]
    section = re.split(r"\n##+ ", section, maxsplit=1)[0]
    steps: list[Command | File] = []
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        if language == "console":
            for block in re.split(r"^\$ ", body, flags=re.M)[1:]:
                line, *output = block.rstrip("\n").split("\n")
                steps.append(Command(line, tuple(output)))
        elif body.startswith("# "):
            first = body.split("\n", 1)[0][2:]
            path, _, note = first.partition(" (")
            steps.append(File(path, body, append=note.startswith("add")))
    return steps


def test_the_page_has_the_steps_a_user_follows() -> None:
    steps = page_steps(PAGE.read_text())
    commands = [s.line for s in steps if isinstance(s, Command)]
    assert commands[:2] == ["hatch new my-app", "cd my-app"]
    assert "hatch build -t krust:binary" in commands
    assert any(c.startswith("KRUST_REPO=") for c in commands)
    files = [s.path for s in steps if isinstance(s, File)]
    assert files == ["src/my_app/cli.py", "pyproject.toml", "pyproject.toml"]


@pytest.fixture(scope="module")
def wheelhouse(plugin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hatch-krust as a wheel, found through PIP_FIND_LINKS / UV_FIND_LINKS the way the
    page's `dependencies = ["hatch-krust"]` finds it on PyPI."""
    house = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(house)],
        cwd=plugin_dir, check=True, capture_output=True, timeout=300,
    )
    return house


def _user_env(tmp_path: Path, cache_dir: Path, wheelhouse: Path) -> dict[str, str]:
    (tmp_path / "hatch.toml").write_text("")
    env = build_env(cache_dir)
    env.update(
        {
            "HATCH_CONFIG": str(tmp_path / "hatch.toml"),
            "HATCH_DATA_DIR": str(tmp_path / "hatch-data"),
            "HATCH_CACHE_DIR": str(tmp_path / "hatch-cache"),
            "PIP_FIND_LINKS": str(wheelhouse),
            "UV_FIND_LINKS": str(wheelhouse),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
    )
    env.pop("SOURCE_DATE_EPOCH")
    return env


def _check_output(command: Command, stdout: str) -> None:
    shown = [line for line in stdout.splitlines() if line.strip()]
    for expected in command.expected:
        if "…" in expected:
            prefix = expected.split("…", 1)[0]
            assert any(line.startswith(prefix) for line in shown), (command.line, stdout)
        else:
            assert expected in shown, (command.line, stdout)


def test_following_the_page(
    tmp_path: Path, cache_dir: Path, wheelhouse: Path
) -> None:
    env = _user_env(tmp_path, cache_dir, wheelhouse)
    architecture = ARCHITECTURES.get(platform.machine(), platform.machine())
    cwd = tmp_path / "work"
    cwd.mkdir()
    with start_registry(tmp_path / "registry") as registry:
        for step in page_steps(PAGE.read_text()):
            if isinstance(step, File):
                target = cwd / step.path
                with target.open("a" if step.append else "w") as out:
                    out.write(("\n" if step.append else "") + step.text)
                continue
            line = step.line.replace("ghcr.io/acme", f"{registry.host}/acme")
            line = line.replace("-linux-amd64", f"-linux-{architecture}")
            if line.startswith("cd "):
                cwd = cwd / line[3:]
                continue
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=env,
                capture_output=True, text=True, timeout=900, check=False,
            )
            assert done.returncode == 0, f"$ {line}\n{done.stdout}\n{done.stderr}"
            expected = Command(line, tuple(
                e.replace("ghcr.io/acme", f"{registry.host}/acme") for e in step.expected
            ))
            _check_output(expected, done.stdout)
            assert "Traceback" not in done.stderr
        ref = (cwd / "dist" / "krust" / "my-app-0.0.1.ref").read_text().strip()
        assert ref.startswith(f"{registry.host}/acme/my-app@sha256:")
