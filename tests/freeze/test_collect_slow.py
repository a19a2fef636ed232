"""What the venv has, the executable has: a module imported only by name and a data-only
dependency (`tzdata`, read by `zoneinfo`) work in the static executable without any
`pyinstaller-args`; with `collect = "imports"` the import check ends the freeze naming the
module. Real freezes (PyInstaller + staticx), run in an empty root."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from hatch_krust.errors import FreezeError
from tests.freeze.conftest import PYENV_PYTHON, do_freeze, make_wheel
from tests.infra.runtime import run_in_chroot

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

# A dependency's plugin named in a string only: PyInstaller's analysis never sees it
# imported (the project's own packages are collected whole in either mode).
LIBRARY = """
import importlib

def load(name):
    return importlib.import_module("krust_byname.plugins." + name)
"""
CLI = """
import json, sys, zoneinfo, datetime
import krust_byname

def main():
    plugin = krust_byname.load(sys.argv[1] if len(sys.argv) > 1 else "publish")
    when = datetime.datetime(2026, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Oslo"))
    print(json.dumps({"plugin": plugin.run(), "offset": when.utcoffset().seconds}))
"""


def _wheel(tmp_path: Path) -> Path:
    library = make_wheel(
        tmp_path,
        "krust-byname",
        [],
        {
            "krust_byname/__init__.py": LIBRARY,
            "krust_byname/plugins/__init__.py": "",
            "krust_byname/plugins/publish.py": "def run():\n    return 'published'\n",
        },
    )
    return make_wheel(
        tmp_path,
        "krust-freeze-demo",
        ["tzdata==2025.2", f"krust-byname @ {library.as_uri()}"],
        {"krust_demo/__init__.py": "", "krust_demo/cli.py": CLI},
        "[tool.hatch.metadata]\nallow-direct-references = true\n"
        '[tool.hatch.build.targets.wheel]\npackages = ["krust_demo"]\n',
    )


@pytest.mark.runtime
def test_a_module_imported_by_name_and_tzdata_work_by_default(tmp_path: Path) -> None:
    frozen = do_freeze(_wheel(tmp_path), PYENV_PYTHON, tmp_path / "work")
    assert any("Import check:" in line for line in frozen.log), frozen.log
    names = {d["name"].lower() for d in frozen.result.bundle["distributions"]}
    assert "tzdata" in names, names  # the SBOM lists what is inside
    done = run_in_chroot(frozen.result.executable, [], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"plugin": "published", "offset": 7200}


def test_collect_imports_fails_the_check_naming_the_module(tmp_path: Path) -> None:
    with pytest.raises(FreezeError) as caught:
        do_freeze(_wheel(tmp_path), PYENV_PYTHON, tmp_path / "work", collect="imports")
    message = str(caught.value)
    assert "`krust_byname.plugins.publish`" in message, message
    assert 'collect = "all"' in message and "import-check = false" in message, message


# rapidfuzz 3.11.0's shape: its `pyinstaller40` entry points name a `__pyinstaller`
# package holding its hook and a test for PyInstaller's test suite that imports
# `PyInstaller.__main__`, which the freeze environment has and the program must not.
HOOKED = {
    "krust_hooked/__init__.py": "VALUE = 'hooked'\n",
    "krust_hooked/__pyinstaller/__init__.py": (
        "import os\n\ndef get_hook_dirs():\n    return [os.path.dirname(__file__)]\n\n"
        "def get_PyInstaller_tests():\n    return [os.path.dirname(__file__)]\n"
    ),
    "krust_hooked/__pyinstaller/hook-krust_hooked.py": "hiddenimports = []\n",
    "krust_hooked/__pyinstaller/test_krust_hooked_packaging.py": (
        "from PyInstaller import __main__ as pyi_main\n"
    ),
}
HOOKED_CLI = """
import importlib, json
import krust_hooked

def main():
    found = {}
    for name in ("PyInstaller", "krust_hooked.__pyinstaller"):
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    print(json.dumps({"value": krust_hooked.VALUE, **found}))
"""


@pytest.mark.runtime
def test_a_dependencys_pyinstaller_hooks_and_their_tests_stay_out(tmp_path: Path) -> None:
    """They were collected as modules: the hook package's test pulled PyInstaller's
    `__init__`, `compat` and `exceptions` into the program (unlisted in the SBOM, since
    PyInstaller is the freezer's), and the import check then failed the build on
    `ImportError: cannot import name '__main__' from 'PyInstaller'`."""
    library = make_wheel(
        tmp_path,
        "krust-hooked",
        [],
        HOOKED,
        "[project.entry-points.pyinstaller40]\n"
        'hook-dirs = "krust_hooked.__pyinstaller:get_hook_dirs"\n'
        'tests = "krust_hooked.__pyinstaller:get_PyInstaller_tests"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["krust_hooked"]\n',
    )
    wheel = make_wheel(
        tmp_path,
        "krust-freeze-demo",
        [f"krust-hooked @ {library.as_uri()}"],
        {"krust_demo/__init__.py": "", "krust_demo/cli.py": HOOKED_CLI},
        "[tool.hatch.metadata]\nallow-direct-references = true\n"
        '[tool.hatch.build.targets.wheel]\npackages = ["krust_demo"]\n',
    )
    frozen = do_freeze(wheel, PYENV_PYTHON, tmp_path / "work")
    assert any("Import check:" in line for line in frozen.log), frozen.log
    done = run_in_chroot(frozen.result.executable, [], tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {"value": "hooked", "PyInstaller": False, "krust_hooked.__pyinstaller": False}
