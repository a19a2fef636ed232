"""Extras: parsing entry points that name them, checking them against the wheel."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hatch_krust.errors import ConfigError, FreezeError
from hatch_krust.freeze.launcher import launcher_source, parse_entry_point
from hatch_krust.python.extras import (
    check_extras,
    chosen_extras,
    split_entry_point,
    wheel_requirement,
    with_extras,
)


def make_wheel(tmp_path: Path, extras: tuple[str, ...] = ("cli", "Web_Server")) -> Path:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    lines = ["Metadata-Version: 2.1", "Name: demo", "Version: 1.0"]
    lines += [f"Provides-Extra: {e}" for e in extras]
    lines += ["Requires-Dist: click>=8", 'Requires-Dist: rich>=13; extra == "cli"']
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "")
        archive.writestr("demo-1.0.dist-info/METADATA", "\n".join(lines) + "\n")
    return wheel


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("app.cli:main", ("app.cli:main", ())),
        ("app.cli:main [web]", ("app.cli:main", ("web",))),
        (" app.cli:main[web, cli] ", ("app.cli:main", ("web", "cli"))),
    ],
)
def test_split_entry_point(value: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert split_entry_point(value) == expected


def test_the_launcher_accepts_an_entry_point_with_extras() -> None:
    assert parse_entry_point("app.server:main [web]") == ("app.server", "main")
    assert "from app.server import main as _krust_entry" in launcher_source("app.server:main [web]")
    with pytest.raises(FreezeError, match="not of the form"):
        parse_entry_point("app server [web]")


FIELD = "Field `tool.hatch.build.targets.krust.extras`"
VARIABLE = "Environment variable `KRUST_EXTRAS`"


def test_extras_are_normalized_and_checked(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    wanted = [("CLI", "opt"), ("web-server", "opt"), ("cli", "ep")]
    assert check_extras(wanted, wheel, "demo") == ("cli", "web-server")


def test_an_unknown_extra_names_where_and_what_is_defined(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    with pytest.raises(ConfigError) as info:
        chosen_extras(("gui",), FIELD, "demo", "demo:main", wheel)
    text = str(info.value)
    option = FIELD
    assert f"{option} asks for the extra `gui`" in text
    assert "`cli`, `Web_Server`" in text
    with pytest.raises(ConfigError, match=r"The entry point `demo = demo:main \[tui\]`"):
        chosen_extras((), "The default", "demo", "demo:main [tui]", wheel)
    with pytest.raises(ConfigError, match=r"^Environment variable `KRUST_EXTRAS` asks for"):
        chosen_extras(("gui",), VARIABLE, "demo", "demo:main", wheel)


def test_the_script_gets_its_extras(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    assert chosen_extras((), "The default", "demo", "demo:main [cli]", wheel) == (
        "demo:main",
        ("cli",),
    )


def test_requirements_with_extras_for_the_resolver() -> None:
    lines = ["click>=8", 'rich>=13; extra == "cli"', 'uvicorn; extra == "web"']
    assert with_extras(lines, ()) == ["click>=8"]
    assert with_extras(lines, ("cli",)) == ["click>=8", "rich>=13"]


def test_the_installer_gets_the_extras(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    assert wheel_requirement(wheel, "demo", ()) == str(wheel)
    assert wheel_requirement(wheel, "demo", ("cli",)) == f"demo[cli] @ {wheel.as_uri()}"
