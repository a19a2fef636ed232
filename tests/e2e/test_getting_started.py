"""docs/getting-started.md followed as a new user would, on a machine where hatch-krust is
on no package index: every file it shows is written and every `$ ` command of "Your own
project in five minutes" is run, in order, with the output it shows checked. Only what
needs GitHub or this machine is put in: the clone's URL (-> a git repository of this
checkout's current files), the clone's path in `file:///home/me/hatch-krust`, the
registry (`ghcr.io/acme` -> a local one), the architecture in file names, and the MIT
licence text `hatch new` fetches from GitHub (-> in Hatch's cache, where it looks first;
offline, Hatch retried the download for a minute and wrote an empty LICENSE.txt)."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
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


CLONE_URL = "https://github.com/hatch-krust/hatch-krust"
CLONE_PATH = "/home/me/hatch-krust"
# The SPDX text Hatch downloads for its default licence; `hatch new` fills in the year and name.
MIT_LICENSE = """MIT License

Copyright (c) <year> <copyright holders>

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def test_the_page_has_the_steps_a_user_follows() -> None:
    steps = page_steps(PAGE.read_text())
    commands = [s.line for s in steps if isinstance(s, Command)]
    assert commands[:3] == [f"git clone {CLONE_URL}", "hatch new my-app", "cd my-app"]
    assert "hatch build -t krust:binary" in commands
    assert any(c.startswith("KRUST_REPO=") for c in commands)
    files = [s for s in steps if isinstance(s, File)]
    assert [f.path for f in files] == ["src/my_app/cli.py", "pyproject.toml", "pyproject.toml"]
    assert f'dependencies = ["hatch-krust @ file://{CLONE_PATH}"]' in files[2].text


def outputs_table(text: str) -> set[str]:
    """The files the page says step 4 leaves in dist/krust/ (its table's first column)."""
    table = text.split("`dist/krust/` now holds:", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"^\| `([^`]+)` \|", table, re.M))


@pytest.fixture(scope="module")
def clone_source(plugin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `git clone` of the page fetches: a repository of this checkout's files."""
    source = tmp_path_factory.mktemp("origin") / "hatch-krust"
    shutil.copytree(plugin_dir, source)
    env = {"PATH": os.environ["PATH"], "HOME": str(source.parent), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", *args], cwd=source, env=env, check=True, capture_output=True)
    return source


def _user_env(tmp_path: Path, cache_dir: Path) -> dict[str, str]:
    """A user's environment: hatch on PATH, and no index that knows hatch-krust."""
    (tmp_path / "hatch.toml").write_text("")
    licenses = tmp_path / "hatch-cache" / "licenses"  # what `hatch new` would download
    licenses.mkdir(parents=True)
    (licenses / "MIT.txt").write_text(MIT_LICENSE)
    env = build_env(cache_dir)
    env = {k: v for k, v in env.items() if not k.startswith(("PIP_FIND_LINKS", "UV_FIND_LINKS"))}
    env.update(
        {
            "HATCH_CONFIG": str(tmp_path / "hatch.toml"),
            "HATCH_DATA_DIR": str(tmp_path / "hatch-data"),
            "HATCH_CACHE_DIR": str(tmp_path / "hatch-cache"),
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


def test_following_the_page(tmp_path: Path, cache_dir: Path, clone_source: Path) -> None:
    env = _user_env(tmp_path, cache_dir)
    architecture = ARCHITECTURES.get(platform.machine(), platform.machine())
    text = PAGE.read_text()
    cwd = tmp_path / "work"
    cwd.mkdir()
    clone = cwd / "hatch-krust"  # where the page's `git clone` puts it
    with start_registry(tmp_path / "registry") as registry:
        for step in page_steps(text):
            if isinstance(step, File):
                target = cwd / step.path
                with target.open("a" if step.append else "w") as out:
                    body = step.text.replace(f"file://{CLONE_PATH}", clone.as_uri())
                    out.write(("\n" if step.append else "") + body)
                continue
            line = step.line.replace("ghcr.io/acme", f"{registry.host}/acme")
            line = line.replace("-linux-amd64", f"-linux-{architecture}")
            line = line.replace(CLONE_URL, str(clone_source))
            if line.startswith("cd "):
                cwd = cwd / line[3:]
                continue
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=env,
                capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"$ {line}\n{done.stdout}\n{done.stderr}"
            expected = Command(line, tuple(
                e.replace("ghcr.io/acme", f"{registry.host}/acme") for e in step.expected
            ))  # fmt: skip
            _check_output(expected, done.stdout)
            assert "Traceback" not in done.stderr
            if line == "hatch build -t krust":
                _check_step_4(cwd / "dist" / "krust", text, architecture)
        ref = (cwd / "dist" / "krust" / "my-app-0.0.1.ref").read_text().strip()
        assert ref.startswith(f"{registry.host}/acme/my-app@sha256:")
        _check_archive_name(cwd / "dist" / "krust", text, f"{registry.host}/acme")


def _check_step_4(out: Path, text: str, architecture: str) -> None:
    """The table lists every file step 4 leaves, and the image is in the default format."""
    listed = {n.replace("-linux-amd64", f"-linux-{architecture}") for n in outputs_table(text)}
    assert {p.name for p in out.iterdir()} == listed
    record = json.loads((out / "my-app-0.0.1.build.json").read_text())
    assert record["format"] == "layered"
    assert record["executable"] is None


def _check_archive_name(out: Path, text: str, registry: str) -> None:
    """What the page says `podman load` names the archive after the push."""
    assert "gives `ghcr.io/acme/my-app:0.0.1`, not\n`localhost/my-app:0.0.1`" in text
    with tarfile.open(out / "my-app-0.0.1.oci.tar") as archive:
        (entry,) = [m for m in archive.getmembers() if m.name.lstrip("./") == "index.json"]
        member = archive.extractfile(entry)
        assert member is not None
        index = json.loads(member.read())
    names = {m["annotations"].get("io.containerd.image.name") for m in index["manifests"]}
    assert names == {f"{registry}/my-app:0.0.1"}


def install_block(text: str) -> list[str]:
    """The commands of the page's `## Install` sh block, comments dropped."""
    section = text.split("## Install\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]


def test_the_readme_installs_as_the_page_does() -> None:
    readme = install_block((REPO / "README.md").read_text())
    assert readme == install_block(PAGE.read_text())
    assert readme == [f"git clone {CLONE_URL}", "pip install ./hatch-krust"]


def test_the_command_installs_from_the_clone(tmp_path: Path, clone_source: Path) -> None:
    """`## Install` as written, in a fresh virtual environment: the `hatch-krust` command."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "VIRTUAL"))}
    env["PATH"] = f"{tmp_path / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    for line in install_block(PAGE.read_text()):
        done = subprocess.run(
            ["bash", "-c", line.replace(CLONE_URL, str(clone_source))], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"$ {line}\n{done.stdout}\n{done.stderr}"
    version = subprocess.run(
        ["hatch-krust", "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert version.returncode == 0, version.stderr
    assert (tmp_path / "venv" / "bin" / "hatch-krust").is_file()
    assert version.stdout.split()[-1] == __import__("hatch_krust.__about__").__about__.__version__
