"""The freeze environment with the real installers, offline (--no-index) so failures are
deterministic: a missing dependency is a local fact, not a network accident."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze import FreezeRequest, freeze
from hatch_krust.freeze.pyinstaller import PyInstallerFreezer
from hatch_krust.python.environment import (
    create_environment,
    failing_requirement,
    normalise_records,
)
from tests.freeze.conftest import make_wheel

PYTHON = sys.executable
ENV = os.environ  # the process's, live: monkeypatch.setenv reaches it
NO_INDEX = ["--no-index"]


@pytest.fixture(scope="module")
def needs_missing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel whose dependency exists nowhere."""
    return make_wheel(
        tmp_path_factory.mktemp("needs-missing"),
        "krust-needs-missing",
        ["krust-missing-dep>=1"],
        {"krust_needs_missing/__init__.py": ""},
    )


@pytest.fixture(scope="module")
def no_deps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_wheel(
        tmp_path_factory.mktemp("no-deps"), "krust-no-deps", [], {"krust_no_deps/__init__.py": ""}
    )


def test_missing_dependency_with_uv_names_it(needs_missing: Path, tmp_path: Path) -> None:
    with pytest.raises(FreezeError) as caught:
        create_environment(
            PYTHON, tmp_path / "env", [str(needs_missing)], env=ENV, installer_args=NO_INDEX
        )
    message = str(caught.value)
    assert message.startswith(
        "The requirement `krust-missing-dep>=1` (needed by krust-needs-missing==0.1.0) "
        "could not be installed into the freeze environment: "
        "Because krust-missing-dep was not found"
    )
    assert "Traceback" not in message
    assert "krust-missing-dep" in caught.value.output
    assert "uv output attached" in message


def test_missing_dependency_with_pip_names_it(needs_missing: Path, tmp_path: Path) -> None:
    with pytest.raises(FreezeError) as caught:
        create_environment(
            PYTHON,
            tmp_path / "env",
            [str(needs_missing)],
            env=ENV,
            installer_args=NO_INDEX,
            use_uv=False,
        )
    message = str(caught.value)
    assert message.startswith(
        "The requirement `krust-missing-dep>=1` (needed by krust-needs-missing) could not be "
        "installed into the freeze environment: No matching distribution found"
    )
    assert "pip output attached" in message
    assert "No matching distribution found for krust-missing-dep>=1" in caught.value.output


def test_environment_records_distributions_and_tools(no_deps: Path, tmp_path: Path) -> None:
    env = create_environment(
        PYTHON, tmp_path / "env", [str(no_deps)], env=ENV, installer_args=NO_INDEX
    )
    assert env.distributions == {"krust-no-deps": "0.1.0"}
    assert env.tools["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env.tools["glibc"].startswith("2.")
    assert env.python == tmp_path / "env" / "bin" / "python"
    tool_env = env.tool_env(source_date_epoch=123)
    assert tool_env["PATH"].startswith(f"{env.bin_dir}:")
    assert (tool_env["SOURCE_DATE_EPOCH"], tool_env["PYTHONHASHSEED"]) == ("123", "0")


@pytest.mark.parametrize("use_uv", [True, False])
def test_missing_direct_reference_is_named(tmp_path: Path, use_uv: bool) -> None:
    missing = (tmp_path / "no-such-dir" / "ghostlib").as_uri()
    wheel = make_wheel(
        tmp_path,
        "krust-ghost",
        [f"ghostlib @ {missing}"],
        {
            "krust_ghost/__init__.py": "",
        },
        extra_toml="[tool.hatch.metadata]\nallow-direct-references = true\n",
    )
    with pytest.raises(FreezeError) as caught:
        create_environment(
            PYTHON, tmp_path / "env", [str(wheel)], env=ENV, installer_args=NO_INDEX, use_uv=use_uv
        )
    assert str(caught.value).startswith(
        f"The requirement `ghostlib @ {missing}` (needed by krust-ghost==0.1.0) could not be "
        "installed into the freeze environment: "
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "  cause: Because there is no version of pyyaml==99 and you require pyyaml==99, we ...",
            ("pyyaml==99", ""),
        ),
        (
            "  ╰─▶ Because only foo<=1.0 is available and app==0.1 depends on foo>2, we can ...",
            ("foo>2", "app==0.1"),
        ),
        ("error: Failed to build `brokenpkg==1.0`\n  Caused by: ...", ("brokenpkg==1.0", "")),
        (
            "ERROR: Could not find a version that satisfies the requirement nope>=2 (from app) "
            "(from versions: none)\nERROR: No matching distribution found for nope>=2",
            ("nope>=2", "app"),
        ),
        (
            "cause: Because krust-missing-dep was not found in the provided package locations and\n"
            "  krust-needs-missing==0.1.0 depends on\n  krust-missing-dep>=1, we can conclude ...",
            ("krust-missing-dep>=1", "krust-needs-missing==0.1.0"),
        ),
        ("something else entirely", None),
    ],
)
def test_failing_requirement(output: str, expected: tuple[str, str] | None) -> None:
    assert failing_requirement(output) == expected


def test_unnamed_failure_still_reads_well(tmp_path: Path) -> None:
    with pytest.raises(FreezeError) as caught:
        create_environment(PYTHON, tmp_path / "env", ["--not-an-option"], env=ENV, use_uv=False)
    assert str(caught.value).startswith("A requirement of the project or of the freezer could not")


def test_metadata_loses_build_paths_and_times(tmp_path: Path) -> None:
    dist_info = tmp_path / "lib/python3.11/site-packages/demo-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "direct_url.json").write_text('{"url": "file:///tmp/build-1/demo.whl"}')
    (dist_info / "uv_cache.json").write_text('{"timestamp": 1}')
    (dist_info / "RECORD").write_text(
        "../../../bin/demo,sha256=abc,305\ndemo/__init__.py,sha256=def,10\n"
        "demo-1.0.dist-info/direct_url.json,sha256=x,40\n"
        "demo-1.0.dist-info/uv_cache.json,,\n"
        "demo-1.0.dist-info/RECORD,,\n"
    )
    normalise_records(tmp_path)
    assert sorted(p.name for p in dist_info.iterdir()) == ["RECORD"]
    assert (dist_info / "RECORD").read_text() == (
        "../../../bin/demo,,\ndemo/__init__.py,sha256=def,10\ndemo-1.0.dist-info/RECORD,,\n"
    )


def test_freeze_reports_the_missing_dependency(
    needs_missing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the public API: one paragraph naming the requirement, no traceback.

    Offline and without the freezer pins, so the only unresolvable name is the project's own
    dependency, whatever uv's cache holds.
    """
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setattr(PyInstallerFreezer, "pins", {})
    lines: list[str] = []
    request = FreezeRequest(
        wheel=needs_missing,
        dist_name="krust-needs-missing",
        version="0.1.0",
        script="needs-missing",
        entry_point="krust_needs_missing:main",
        python=PYTHON,
        work_dir=tmp_path / "work",
        environ=ENV,
        log=lines.append,
    )
    with pytest.raises(FreezeError) as caught:
        freeze(request)
    message = str(caught.value)
    assert message.startswith("The requirement `krust-missing-dep>=1` (needed by krust-needs-mis")
    assert "Traceback" not in message
    assert lines == ["Creating the freeze environment"]


def test_tools_get_the_given_environment_without_foreign_python_paths(
    tmp_path: Path, no_deps: Path
) -> None:
    """The environment's tools run with the variables it was made with, minus other
    Pythons' paths, plus its own bin first."""
    given = {**ENV, "PYTHONPATH": "/somewhere/else", "KRUST_TEST_GIVEN": "yes"}
    env = create_environment(
        PYTHON, tmp_path / "env", [str(no_deps)], env=given, installer_args=NO_INDEX
    )
    tool_env = env.tool_env()
    assert "PYTHONPATH" not in tool_env
    assert tool_env["KRUST_TEST_GIVEN"] == "yes"
    assert tool_env["VIRTUAL_ENV"] == str(tmp_path / "env")
