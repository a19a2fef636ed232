"""RECORD -> modules and data (collect), and the import check's runner, without a freeze:
the check's children are real Python processes importing real (written) modules."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze.checkmode import CHECK_ENV
from hatch_krust.freeze.collect import Installed, _split, collect_args, module_name
from hatch_krust.freeze.importcheck import (
    CheckResult,
    check_items,
    missing_message,
    run_items,
    verify_imports,
)
from hatch_krust.freeze.launcher import launcher_source

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("pkg/__init__.py", "pkg"),
        ("pkg/sub/mod.py", "pkg.sub.mod"),
        ("top.py", "top"),
        ("pkg/_speed.cpython-311-x86_64-linux-gnu.so", "pkg._speed"),
        ("pkg/__pycache__/mod.cpython-311.pyc", None),
        ("pkg-1.0.dist-info/RECORD", None),
        ("pkg.libs/libfoo-1234.so.1", None),
        ("pkg/data/table.json", None),
        ("pkg/not-a-module.py", None),
    ],
)
def test_module_names_from_record_paths(path: str, name: str | None) -> None:
    assert module_name(path) == name


def test_split_keeps_modules_and_package_data_not_metadata_or_main() -> None:
    entry = {
        "name": "Demo",
        "files": [
            ["demo/__init__.py", "/s/demo/__init__.py"],
            ["demo/__main__.py", "/s/demo/__main__.py"],
            ["demo/zones/Europe/Oslo", "/s/demo/zones/Europe/Oslo"],
            ["demo-1.0.dist-info/METADATA", "/s/demo-1.0.dist-info/METADATA"],
            ["demo/_c.abi3.so", "/s/demo/_c.abi3.so"],
        ],
        "entry_points": [["console_scripts", "demo=demo:main"]],
    }
    installed = _split(entry)
    assert installed.modules == ("demo", "demo._c")
    assert installed.data == (("/s/demo/zones/Europe/Oslo", "demo/zones/Europe"),)
    args = collect_args([installed], excluded=["demo._c"])
    assert args == [
        "--hidden-import",
        "demo",
        "--add-data",
        "/s/demo/zones/Europe/Oslo:demo/zones/Europe",
    ]


def test_check_items_leave_out_excluded_modules_and_tool_groups() -> None:
    dist = Installed(
        "demo",
        ("demo", "demo.heavy", "demo.heavy.part"),
        (),
        (("console_scripts", "demo.cli:main [extra]"), ("pyinstaller40", "demo.hooks:dirs")),
    )
    assert check_items([dist], ["demo.heavy"], []) == [
        "module:demo",
        "entry:demo.cli:main",
    ]
    assert check_items([dist], [], ["console_scripts"])[-1] == "module:demo.heavy.part"


def _modules(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "good.py").write_text("VALUE = 1\n")
    (site / "broken.py").write_text("import no_such_module_anywhere\n")
    (site / "killer.py").write_text("import os\nos._exit(7)\n")
    (site / "after.py").write_text("")
    return site


def test_run_items_resumes_after_an_import_that_kills_the_process(tmp_path: Path) -> None:
    site = _modules(tmp_path)
    script = tmp_path / "checkmode.py"
    from hatch_krust.freeze.importcheck import check_source

    script.write_text(check_source())
    items = ["module:good", "module:broken", "module:killer", "module:after", "entry:good:VALUE"]
    env = {"PYTHONPATH": str(site)}
    results = run_items([sys.executable, str(script)], env, items, tmp_path / "work")
    assert results["module:good"] == "" and results["module:after"] == ""
    assert results["entry:good:VALUE"] == ""
    assert results["module:broken"].startswith("ModuleNotFoundError")
    assert "exit status 7" in results["module:killer"]


def test_verify_imports_reports_what_only_the_venv_imports(tmp_path: Path) -> None:
    """The 'executable' is a Python that does not see one module the venv sees."""
    site = _modules(tmp_path)
    (site / "only_in_venv.py").write_text("")
    frozen_site = tmp_path / "frozen-site"
    frozen_site.mkdir()
    (frozen_site / "good.py").write_text("VALUE = 1\n")
    venv = tmp_path / "venv-python"
    # the check runs `python -I script`: -I would ignore PYTHONPATH, the stand-in drops it
    venv.write_text(f'#!/bin/sh\nshift\nPYTHONPATH={site} exec {sys.executable} "$@"\n')
    venv.chmod(0o755)
    source = launcher_source("good:VALUE")
    launcher = tmp_path / "launcher.py"
    launcher.write_text(source)
    executable = tmp_path / "executable"
    executable.write_text(f"#!/bin/sh\nPYTHONPATH={frozen_site} exec {sys.executable} {launcher}\n")
    executable.chmod(0o755)
    items = ["module:good", "module:broken", "module:only_in_venv"]
    result = verify_imports(venv, executable, items, {}, tmp_path / "check")
    assert (result.tried, result.importable) == (3, 2)
    assert result.missing == ("module:only_in_venv",)


def test_an_executable_without_check_mode_is_a_clear_error(tmp_path: Path) -> None:
    site = _modules(tmp_path)
    venv = tmp_path / "venv-python"
    # the check runs `python -I script`: -I would ignore PYTHONPATH, the stand-in drops it
    venv.write_text(f'#!/bin/sh\nshift\nPYTHONPATH={site} exec {sys.executable} "$@"\n')
    venv.chmod(0o755)
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    with pytest.raises(FreezeError, match=r"wrote no report.*`import-check = false`"):
        verify_imports(venv, silent, ["module:good"], {}, tmp_path / "check")
    with pytest.raises(FreezeError, match=r"could not run .*`import-check = false`"):
        verify_imports(venv, tmp_path / "missing", ["module:good"], {}, tmp_path / "check")


def test_the_launcher_in_check_mode_imports_instead_of_running(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def main():\n    print('RAN')\n    return 3\n")
    launcher = tmp_path / "launcher.py"
    launcher.write_text(launcher_source("app:main"))
    request, report = tmp_path / "request.json", tmp_path / "report.txt"
    request.write_text('["module:app", "module:nope"]')
    done = subprocess.run(
        [sys.executable, str(launcher)],
        env={"PYTHONPATH": str(tmp_path), CHECK_ENV: f"{request}:{report}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "")
    lines = report.read_text().splitlines()
    assert "ok\tmodule:app" in lines
    assert any(line.startswith("fail\tmodule:nope\tModuleNotFoundError") for line in lines)
    normal = subprocess.run(
        [sys.executable, str(launcher)],
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (normal.returncode, normal.stdout) == (3, "RAN\n")


def test_the_message_names_the_modules_and_both_fixes() -> None:
    missing = tuple(f"module:m{i}" for i in range(20))
    errors = {"module:m0": "ModuleNotFoundError: No module named 'x'", "module:m1": "E" * 300}
    result = CheckResult(40, 30, missing, 1.0, errors)
    message = missing_message(result, "imports")
    assert "`m0` (ModuleNotFoundError: No module named 'x')" in message
    assert f"`m1` ({'E' * 99}…)" in message
    assert message.startswith("The executable cannot import 20 of the 30 ")
    assert "`m0`" in message and "`m14`" in message and "`m15`" not in message
    assert "and 5 more" in message
    assert 'collect = "all"' in message and "`KRUST_IMPORT_CHECK=0`" in message
    assert 'collect = "all"' not in missing_message(result, "all")


def test_a_child_left_by_a_failed_package_does_not_count_as_imported(tmp_path: Path) -> None:
    """`pkg/__init__.py` imports `pkg.child`, then fails: `pkg.child` must fail too, as it
    would alone (the order the items are tried in must not matter)."""
    from hatch_krust.freeze.importcheck import check_source

    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg/__init__.py").write_text("from . import child\nimport no_such_module_x\n")
    (site / "pkg/child.py").write_text("")
    script = tmp_path / "checkmode.py"
    script.write_text(check_source())
    env = {"PYTHONPATH": str(site)}
    results = run_items(
        [sys.executable, str(script)], env, ["module:pkg", "module:pkg.child"], tmp_path / "w"
    )
    assert results["module:pkg"].startswith("ModuleNotFoundError")
    assert results["module:pkg.child"].startswith("ModuleNotFoundError")


def test_what_a_pyinstaller_hook_excludes_on_purpose_is_not_counted(tmp_path: Path) -> None:
    from hatch_krust.freeze.importcheck import hook_exclusions, without_exclusions

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "hook-numpy.py").write_text(
        'excludedimports = ["scipy", "pytest"]\n'
        "if numpy_version > (1, 22, 1):\n"
        '    excludedimports += ["distutils", "numpy.distutils"]\n'
    )
    (hooks / "hook-PIL.py").write_text('excludedimports = ["tkinter"]\n')  # not collected
    (hooks / "hook-broken.py").write_text("excludedimports = [\n")
    excluded = hook_exclusions([hooks, tmp_path / "absent"], {"numpy", "broken", "app"})
    assert excluded == frozenset({"scipy", "pytest", "distutils", "numpy.distutils"})
    missing = ("module:numpy.distutils", "module:numpy.distutils.core", "module:app.plugin")
    errors = {
        "module:numpy.distutils": "ModuleNotFoundError: No module named 'distutils'",
        "module:numpy.distutils.core": "ModuleNotFoundError: No module named 'distutils.core'",
        "module:app.plugin": "ModuleNotFoundError: No module named 'app.plugin'",
    }
    result = without_exclusions(CheckResult(5, 5, missing, 1.0, errors), excluded)
    assert result.missing == ("module:app.plugin",)


def test_what_only_the_freezers_tools_provide_is_not_counted() -> None:
    """The freeze venv holds staticx for the freezer: a module of the project that reads
    its metadata imports there and not in the executable, as in the layered image."""
    from hatch_krust.freeze.importcheck import without_exclusions

    errors = {
        "module:app.runner": "PackageNotFoundError: No package metadata was found for staticx",
        "module:app.elf": "ModuleNotFoundError: No module named 'elftools.elf'",
        "module:app.other": "PackageNotFoundError: No package metadata was found for rich",
    }
    result = CheckResult(3, 3, tuple(errors), 1.0, errors)
    kept = without_exclusions(result, frozenset({"staticx", "elftools", "pyelftools"}))
    assert kept.missing == ("module:app.other",)
