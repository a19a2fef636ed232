"""docs/architecture.md, claim by claim where a test can check it: the package layout it
lists is the one on disk, every module the flow names exists, and its import-rule table
is the one tests/meta/test_import_rules.py enforces."""

from __future__ import annotations

import re
from pathlib import Path

import hatch_krust
from tests.meta.test_import_rules import rules_markdown

PACKAGE = Path(hatch_krust.__file__).resolve().parent
DOC = PACKAGE.parent / "docs" / "architecture.md"
NOT_LISTED = {"__init__.py", "__about__.py", "__main__.py", "py.typed"}


def code_block(text: str, heading: str) -> list[str]:
    """The lines of the first ``` block after `heading`."""
    after = text.split(f"\n{heading}\n", 1)[1]
    return after.split("```\n", 2)[1].splitlines()


def listed_layout(lines: list[str]) -> dict[str, set[str]]:
    """{top-level entry: the entries listed under it}, from the layout block's indents."""
    listed: dict[str, set[str]] = {}
    current = ""
    for line in lines[1:]:  # the first is `hatch_krust/`
        match = re.match(r"^( +)(\S+)", line)
        if match is None:
            continue
        indent, name = len(match.group(1)), match.group(2)
        if indent == 2:
            current = name
            listed[current] = set()
        elif indent == 4 and (name.endswith((".py", "/"))):
            listed[current].add(name)
    return listed


def on_disk() -> set[str]:
    return {
        f"{path.name}/" if path.is_dir() else path.name
        for path in PACKAGE.iterdir()
        if path.name not in NOT_LISTED and path.name != "__pycache__"
    }


def test_the_package_layout_is_the_one_on_disk() -> None:
    listed = listed_layout(code_block(DOC.read_text(), "## Package layout"))
    assert set(listed) == on_disk()
    missing = [
        f"{top}{name}"
        for top, names in listed.items()
        for name in names
        if not (PACKAGE / top / name).exists()
    ]
    assert not missing, f"listed under a package but not there: {missing}"


def test_every_module_the_flow_names_exists() -> None:
    flow = "\n".join(code_block(DOC.read_text(), "## The flow"))
    named = set(re.findall(r"(?<![\w/.])((?:[a-z_]+/)*[a-z_]+\.py)\b", flow))
    assert {"flow.py", "formats/static.py", "building/image.py"} <= named
    missing = sorted(name for name in named if not (PACKAGE / name).is_file())
    assert not missing, f"docs/architecture.md's flow names modules that do not exist: {missing}"


def test_the_import_rule_table_is_the_enforced_one() -> None:
    assert rules_markdown() in DOC.read_text()


def test_the_layout_reader_sees_a_missing_module(tmp_path: Path) -> None:
    lines = ["hatch_krust/", "  flow.py         x", "  formats/        y", "    base.py   z",
             "    gone.py   w", "                  continued text"]  # fmt: skip
    assert listed_layout(lines) == {"flow.py": set(), "formats/": {"base.py", "gone.py"}}
