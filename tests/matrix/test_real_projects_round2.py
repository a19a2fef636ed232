"""The real-project matrix, round 2 (issue 20): one pinned PyPI project per class of first-try
failure, each built in both formats on `scratch` and doing real work in the image, or
ending the build with the message that says why it cannot.

- pygments: lexers, formatters and styles loaded by name (`get_style_by_name`);
- icalendar: a dependency (`tzdata`) that is data only, read by `zoneinfo`;
- ruff: the program is a native executable in the wheel's `.data/scripts`;
- ansible-core: insists on a UTF-8 locale and calls `setlocale(LC_ALL, "")`; its
  collection loader does not work frozen, which the static build's import check reports.

The projects come in as pinned wheels through the `wheel` option (harness.RealWheel): a
Rust program and a setuptools project have no sdist hatchling builds. Run alone, one at a
time: `pytest -m matrix tests/matrix/test_real_projects_round2.py -k ruff`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.infra.runtime import run_image
from tests.matrix.harness import (
    RealWheel,
    build_failure,
    executable_of,
    image_of,
    run_once,
    wheel_project,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.infra, pytest.mark.matrix, pytest.mark.slow, pytest.mark.runtime]

PYGMENTS = RealWheel(
    "pygments",
    "2.19.1",
    "pygments-2.19.1-py3-none-any.whl",
    "9ea1544ad55cecf4b8242fab6dd35a93bbce657034b0611ee383099054ab6d8c",
    {"pygmentize": "pygments.cmdline:main"},
)
ICALENDAR = RealWheel(
    "icalendar",
    "6.1.1",
    "icalendar-6.1.1-py3-none-any.whl",
    "accf3a4be9a1f89bad00e0bf14103b02cd9b02dcb9b4258eb717f39d24cf58e9",
    {"icalendar": "icalendar.cli:main"},
    {"KRUST_EXTRA_FILES": "/data/event.ics=event.ics"},
)
RUFF = RealWheel(
    "ruff",
    "0.8.4",
    "ruff-0.8.4-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "e5fe710ab6061592521f902fca7ebcb9fabd27bc7c57c764298b1c1f15fff720",
    {},  # none: the program is the native `ruff` in .data/scripts
    {"KRUST_EXTRA_FILES": "/data/bad.py=bad.py"},
)
ANSIBLE = RealWheel(
    "ansible-core",
    "2.17.7",
    "ansible_core-2.17.7-py3-none-any.whl",
    "64d4f0a006687a5621aa80dca54fd0c5ae75145b7aac8c1b8d7f07a1399c4705",
    {"ansible": "ansible.cli.adhoc:main"},
)

SQL = "SELECT name FROM users WHERE id = 1;\n"
# Noon in Oslo on 1 July is 10:00 UTC; the container has no TZ and no /etc/localtime.
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//hatch-krust//matrix//EN
BEGIN:VEVENT
UID:1@hatch-krust
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Oslo:20260701T120000
DTEND;TZID=Europe/Oslo:20260701T130000
SUMMARY:Midsummer meeting
END:VEVENT
END:VCALENDAR
"""


def test_styles_and_lexers_loaded_by_name_pygments(plugin_dir: Path, tmp_path: Path) -> None:
    built = wheel_project(PYGMENTS, plugin_dir, tmp_path)
    executable = executable_of(built)
    status, output = run_once(
        executable, ["-l", "sql", "-f", "html", "/q.sql"], tmp_path / "q", {"/q.sql": SQL}
    )
    assert status == 0, output
    assert '<span class="k">SELECT</span>' in output, output
    for image_format in ("static", "layered"):
        layout = image_of(built, tmp_path / image_format, image_format)
        ran = run_image(
            layout, "run", tmp_path / image_format, args=["-S", "monokai", "-f", "html"]
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert ".hll { background-color: #49483e }" in ran.stdout, ran.stdout[:2000]


def test_a_data_only_dependency_tzdata_icalendar(plugin_dir: Path, tmp_path: Path) -> None:
    built = wheel_project(ICALENDAR, plugin_dir, tmp_path)
    (built.root / "event.ics").write_text(EVENT)
    for image_format in ("static", "layered"):
        layout = image_of(built, tmp_path / image_format, image_format)
        ran = run_image(layout, "run", tmp_path / image_format, args=["/data/event.ics"])
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "Summary    : Midsummer meeting" in ran.stdout, ran.stdout
        assert "Starts     : Wed Jul  1 10:00:00 2026" in ran.stdout, ran.stdout


def test_a_native_program_in_data_scripts_ruff(plugin_dir: Path, tmp_path: Path) -> None:
    built = wheel_project(RUFF, plugin_dir, tmp_path)
    (built.root / "bad.py").write_text("import os\n")
    static = {"KRUST_FORMAT": "static"}  # the static format cannot run a native program
    said = build_failure(built, "krust", static)
    assert "native program `ruff`" in said and 'script = "ruff"' in said, said[-3000:]
    said = build_failure(built, "krust", {**static, "KRUST_SCRIPT": "ruff"})
    assert 'format = "layered"' in said and "cannot run another program" in said, said[-3000:]
    built.env["KRUST_SCRIPT"] = "ruff"
    layout = image_of(built, tmp_path / "layered", "layered")
    args = ["check", "--no-cache", "--isolated", "/data/bad.py"]
    ran = run_image(layout, "run", tmp_path / "layered", args=args)
    assert "error while loading shared libraries" not in ran.stderr, ran.stderr
    assert ran.returncode == 1, ran.stdout + ran.stderr  # violations found: status 1
    assert "F401" in ran.stdout and "`os` imported but unused" in ran.stdout, ran.stdout


def test_a_program_that_insists_on_utf8_ansible(plugin_dir: Path, tmp_path: Path) -> None:
    """ansible's collection loader finds `ansible_collections` on the file system, which a
    frozen program does not have: the import check ends the static build naming those
    modules. Without the check, `--version` (the locale check at import) runs in both."""
    built = wheel_project(ANSIBLE, plugin_dir, tmp_path)
    said = build_failure(built, "krust:binary", {})
    assert "`ansible.plugins.inventory` (ModuleNotFoundError" in said, said[-3000:]
    assert "`import-check = false`" in said, said[-3000:]
    built.env["KRUST_IMPORT_CHECK"] = "0"
    for image_format in ("static", "layered"):
        layout = image_of(built, tmp_path / image_format, image_format)
        ran = run_image(layout, "run", tmp_path / image_format, args=["--version"])
        output = ran.stdout + ran.stderr
        assert "requires the locale encoding to be UTF-8" not in output, output
        assert "unsupported locale setting" not in output, output
        assert ran.returncode == 0, output
        assert "ansible [core 2.17.7]" in ran.stdout, output
