"""The PyInstaller step without a full freeze: its command line and its loud failure when
the PyInstaller internal that the RUNPATH fix wraps is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze import FreezeRequest
from hatch_krust.freeze.launcher import PID1_IMPORTS
from hatch_krust.freeze.pyinstaller import check_entry_module, pyinstaller_args, run_pyinstaller
from hatch_krust.python.environment import FreezeEnvironment, create_environment, find_uv
from hatch_krust.python.wheelfile import WheelContents
from tests.freeze.conftest import make_wheel
from tests.infra.environment import hermetic_environment


def request_for(tmp_path: Path, **options: object) -> FreezeRequest:
    fields: dict[str, object] = {
        "wheel": tmp_path / "demo.whl",
        "dist_name": "demo-dist",
        "version": "1.0",
        "script": "demo",
        "entry_point": "demo.cli:main",
        "python": sys.executable,
        "work_dir": tmp_path,
        "environ": os.environ,
        **options,
    }
    return FreezeRequest(**fields)  # type: ignore[arg-type]


def test_command_line(tmp_path: Path) -> None:
    request = request_for(
        tmp_path,
        hidden_imports=("extra.mod",),
        exclude_modules=("tkinter",),
        freezer_args=("--noupx",),
    )
    contents = WheelContents(packages=("demo", "demo_data"), modules=("single",))
    args = pyinstaller_args(request, contents, tmp_path / "launcher.py")
    assert args[:6] == ["--onefile", "--strip", "--noconfirm", "--clean", "--name", "demo"]
    joined = " ".join(args)
    for expected in [
        "--recursive-copy-metadata demo-dist",
        "--collect-submodules demo --collect-data demo",
        "--collect-submodules demo_data --collect-data demo_data",
        "--hidden-import single --hidden-import extra.mod",
        "--exclude-module tkinter",
        "--log-level WARN",
        *(f"--hidden-import {module}" for module in PID1_IMPORTS),  # the embedded init's
    ]:
        assert expected in joined
    assert args[-2:] == ["--noupx", str(tmp_path / "launcher.py")]


def test_verbose_command_line_logs_more(tmp_path: Path) -> None:
    args = pyinstaller_args(request_for(tmp_path, verbose=True), WheelContents((), ()), tmp_path)
    assert " ".join(args).count("--log-level INFO") == 1


FAKE_PYINSTALLER = {
    "PyInstaller/__init__.py": "__version__ = '99.0'\n",
    "PyInstaller/building/__init__.py": "",
    "PyInstaller/building/api.py": "",
    "PyInstaller/building/utils.py": "",
}


def test_missing_hook_point_fails_loudly(tmp_path: Path) -> None:
    """A PyInstaller without process_collected_binary must stop the build, naming its version."""
    root = tmp_path / "env"
    uv = find_uv(os.environ) or "uv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(root)], check=True)
    site = next(root.glob("lib/python*/site-packages"))
    for relative, text in FAKE_PYINSTALLER.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    tools = {"pyinstaller": "99.0"}
    env = FreezeEnvironment(
        root=root, python=root / "bin" / "python", base_env=os.environ, tools=tools
    )
    with pytest.raises(FreezeError) as caught:
        run_pyinstaller(env, request_for(tmp_path), WheelContents(("demo",), ()))
    message = str(caught.value)
    assert message.startswith(
        "running PyInstaller 99.0 failed (exit status 3). hatch-krust does not support "
        "PyInstaller 99.0; use pyinstaller>=6.10"
    )
    hook = "PyInstaller.building.utils.process_collected_binary"
    assert f"no longer has the hook point {hook}" in message


@pytest.fixture(scope="module")
def small_env(tmp_path_factory: pytest.TempPathFactory) -> FreezeEnvironment:
    """A freeze environment with one tiny package (broken subpackage included), offline."""
    out = tmp_path_factory.mktemp("small-env")
    wheel = make_wheel(
        out,
        "krust-small",
        [],
        {
            "krust_small/__init__.py": "def main():\n    return 0\n",
            "krust_small/broken/__init__.py": "raise ImportError('broken on purpose')\n",
        },
    )
    offline = ["--no-index"]
    with hermetic_environment(tmp_path_factory.mktemp("small-env-home")):  # before `hermetic`
        return create_environment(
            sys.executable, out / "env", [str(wheel)], env=os.environ, installer_args=offline
        )


def test_entry_module_present(small_env: FreezeEnvironment) -> None:
    check_entry_module(small_env, "krust_small:main")


@pytest.mark.parametrize("module", ["krust_small.nope", "not_installed_anywhere"])
def test_entry_module_missing(small_env: FreezeEnvironment, module: str) -> None:
    with pytest.raises(FreezeError, match=f"names the module `{module}`, which the project's"):
        check_entry_module(small_env, f"{module}:main")


def test_entry_module_whose_package_fails_to_import(small_env: FreezeEnvironment) -> None:
    with pytest.raises(FreezeError) as caught:
        check_entry_module(small_env, "krust_small.broken.cli:main")
    assert "ImportError: broken on purpose" in str(caught.value)
    assert "Traceback" not in str(caught.value)
