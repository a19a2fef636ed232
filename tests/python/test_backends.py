"""Environment backends: the choice between uv and pip, their exact commands, and the
protocol a new backend implements. No network: the installers are recording scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.python import backends, probe_interpreter
from hatch_krust.python.backends import PipBackend, UvBackend, choose_backend
from hatch_krust.python.environment import create_environment
from hatch_krust.python.process import ToolFailed

if TYPE_CHECKING:
    from collections.abc import Sequence

ENV = {"PATH": os.environ.get("PATH", os.defpath), "HOME": os.environ.get("HOME", "/")}


@pytest.mark.parametrize(
    ("use_uv", "uv", "expected"),
    [
        (None, "/opt/uv", "uv"),
        (None, None, "pip"),
        (True, "/opt/uv", "uv"),
        (False, "/opt/uv", "pip"),
    ],
)
def test_choice(
    monkeypatch: pytest.MonkeyPatch, use_uv: bool | None, uv: str | None, expected: str
) -> None:
    monkeypatch.setattr(backends, "find_uv", lambda _env: uv)
    chosen = choose_backend(ENV, use_uv)
    assert chosen.name == expected
    if expected == "uv":
        assert isinstance(chosen, UvBackend)
        assert chosen.uv == uv
        assert chosen.env is ENV


def test_uv_asked_for_but_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "find_uv", lambda _env: None)
    with pytest.raises(FreezeError, match=r"^uv was asked for but is not installed"):
        choose_backend(ENV, True)


def test_uv_is_found_on_the_given_path_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the `uv` package, uv is looked up on the PATH of the environment given."""
    monkeypatch.setitem(sys.modules, "uv", None)  # `import uv` fails
    uv, _ = recorder(tmp_path, "uv")
    assert backends.find_uv({"PATH": str(tmp_path)}) == str(uv)
    assert backends.find_uv({"PATH": str(tmp_path / "elsewhere")}) is None


def recorder(tmp_path: Path, name: str, status: int = 0) -> tuple[Path, Path]:
    """An executable that appends its argv (one JSON list a line) to a log, then exits."""
    log = tmp_path / f"{name}.log"
    tool = tmp_path / name
    tool.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"print('recorded'); sys.exit({status})\n"
    )
    tool.chmod(0o755)
    return tool, log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_uv_commands(tmp_path: Path) -> None:
    uv, log = recorder(tmp_path, "uv")
    backend = UvBackend(str(uv), ENV)
    python = backend.create(Path("/usr/bin/python3"), tmp_path / "env")
    backend.install(python, ["--no-index", "demo.whl"], cwd=tmp_path)
    assert python == tmp_path / "env" / "bin" / "python"
    assert calls(log) == [
        ["venv", "--python", "/usr/bin/python3", str(tmp_path / "env")],
        ["pip", "install", "--python", str(python), "--no-index", "demo.whl"],
    ]


def test_pip_commands(tmp_path: Path) -> None:
    interpreter, log = recorder(tmp_path, "python3")
    backend = PipBackend(ENV)
    python = backend.create(interpreter, tmp_path / "env")
    backend.install(interpreter, ["demo.whl"], cwd=tmp_path)
    assert python == tmp_path / "env" / "bin" / "python"
    assert calls(log) == [
        ["-m", "venv", str(tmp_path / "env")],
        ["-m", "pip", "install", "--disable-pip-version-check", "demo.whl"],
    ]


def test_pip_venv_failure_has_the_debian_hint(tmp_path: Path) -> None:
    interpreter, _ = recorder(tmp_path, "python3", status=1)
    with pytest.raises(FreezeError) as caught:
        PipBackend(ENV).create(interpreter, tmp_path / "env")
    assert str(caught.value).startswith(
        f"Creating the freeze environment with {interpreter} failed (exit status 1). On Debian "
        "and Ubuntu, `apt-get install python3-venv` provides the venv module."
    )


@dataclass
class StdlibVenvBackend:
    """A third backend, as a later format would add one: `venv --without-pip`, and an
    install step that records what it was given (and fails for `broken`)."""

    name: str = "recorder"
    installed: list[list[str]] = field(default_factory=list)

    def create(self, interpreter: Path, root: Path, *, verbose: bool = False) -> Path:
        subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(root)], check=True)
        return root / "bin" / "python"

    def install(
        self, python: Path, args: Sequence[str], *, cwd: Path, verbose: bool = False
    ) -> None:
        self.installed.append([str(python), *args])
        if "broken>=1" in args:
            raise ToolFailed(["recorder"], 1, "No matching distribution found for broken>=1\n")


def test_another_backend_plugs_in(tmp_path: Path) -> None:
    backend = StdlibVenvBackend()
    interpreter = probe_interpreter(sys.executable, ENV)
    env = create_environment(
        interpreter, tmp_path / "env", ["demo.whl"], env=ENV, installer_args=["-q"],
        backend=backend,
    )
    assert backend.installed == [[str(tmp_path / "env" / "bin" / "python"), "-q", "demo.whl"]]
    assert env.python == tmp_path / "env" / "bin" / "python"
    assert env.tools["python"] == interpreter.release
    assert env.distributions == {}


def test_a_failed_install_names_the_backend(tmp_path: Path) -> None:
    with pytest.raises(FreezeError) as caught:
        create_environment(
            sys.executable, tmp_path / "env", ["broken>=1"], env=ENV, backend=StdlibVenvBackend()
        )
    message = str(caught.value)
    assert message.startswith("The requirement `broken>=1` could not be installed")
    assert "recorder output attached" in message
