from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze.launcher import (
    LAUNCHER_NAME,
    launcher_source,
    parse_entry_point,
    write_launcher,
)

ENTRY_MODULE = """
import sys

def main():
    return 7

def say():
    return "failure message"

class App:
    @staticmethod
    def run():
        print("ran", sys.argv[1:])

def interrupted():
    raise KeyboardInterrupt
"""


def run_launcher(entry_point: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "fake_entry.py").write_text(ENTRY_MODULE)
    launcher = write_launcher(entry_point, tmp_path / "launcher")
    return subprocess.run(
        [sys.executable, str(launcher), *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path)},
        check=False,
    )


def test_return_value_is_the_exit_status(tmp_path: Path) -> None:
    assert run_launcher("fake_entry:main", tmp_path).returncode == 7


def test_attribute_path_and_arguments(tmp_path: Path) -> None:
    proc = run_launcher("fake_entry:App.run", tmp_path, "a", "b")
    assert (proc.returncode, proc.stdout) == (0, "ran ['a', 'b']\n")


def test_string_result_goes_to_stderr_with_status_1(tmp_path: Path) -> None:
    proc = run_launcher("fake_entry:say", tmp_path)
    assert (proc.returncode, proc.stderr) == (1, "failure message\n")


def test_an_uncaught_keyboard_interrupt_ends_with_130_and_its_traceback(tmp_path: Path) -> None:
    proc = run_launcher("fake_entry:interrupted", tmp_path)
    assert proc.returncode == 130
    assert proc.stderr.rstrip().endswith("KeyboardInterrupt")


def test_the_launcher_forks_only_when_its_parents_parent_is_pid_1(tmp_path: Path) -> None:
    """The init steps in when the bootloader's parent is PID 1; here the launcher's parent
    is this test's process, so it forks only when pytest itself was started by PID 1."""
    (tmp_path / "fake_entry.py").write_text("import os\ndef main():\n    print(os.getpid())\n")
    launcher = write_launcher("fake_entry:main", tmp_path / "launcher")
    proc = subprocess.Popen(
        [sys.executable, str(launcher)], stdout=subprocess.PIPE, text=True,
        env={"PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    out, _ = proc.communicate(timeout=60)
    assert (int(out) == proc.pid) is (os.getppid() != 1)


def test_source_imports_the_module_statically() -> None:
    source = launcher_source("pkg.cli:main")
    assert "from pkg.cli import main as _krust_entry\n" in source
    assert "_krust_status = _krust_entry()" in source
    assert "sys.exit(_krust_status)" in source
    compile(source, LAUNCHER_NAME, "exec")


def test_an_attribute_path_through_a_submodule_the_package_does_not_import(
    tmp_path: Path,
) -> None:
    """`pkg:cli.main` works like a console script even when pkg/__init__ imports nothing."""
    package = tmp_path / "quiet_pkg"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli" / "__init__.py").write_text("def detect():\n    print('detected')\n")
    launcher = write_launcher("quiet_pkg:cli.detect", tmp_path / "launcher")
    proc = subprocess.run(
        [sys.executable, str(launcher)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path)},
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "detected\n"), proc.stderr


def test_launcher_is_alone_in_its_directory(tmp_path: Path) -> None:
    path = write_launcher("pkg:main", tmp_path / "launcher")
    assert [p.name for p in path.parent.iterdir()] == [LAUNCHER_NAME]


def test_parse_strips_spaces() -> None:
    assert parse_entry_point(" pkg.cli : App.main ") == ("pkg.cli", "App.main")


@pytest.mark.parametrize(
    "entry_point",
    ["pkg.cli", "pkg.cli:", ":main", "pkg cli:main", "pkg.cli:main()", "class:main", "pkg..x:f"],
)
def test_malformed_entry_point(entry_point: str) -> None:
    with pytest.raises(FreezeError, match=r"is not of the form `package\.module:function`"):
        parse_entry_point(entry_point)
