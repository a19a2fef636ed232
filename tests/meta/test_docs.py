"""The configuration reference is kept true: every option documented, nothing extra."""

from __future__ import annotations

import re
from pathlib import Path

from hatch_krust.config import OPTIONS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_options(text: str) -> dict[str, str]:
    """Heading `### \\`key\\`` -> the section's text."""
    sections = re.split(r"^### `([a-z-]+)`\s*$", text, flags=re.MULTILINE)
    return dict(zip(sections[1::2], sections[2::2], strict=False))


def test_every_option_is_documented_with_its_variable() -> None:
    sections = documented_options((DOCS / "configuration.md").read_text())
    missing = [o.key for o in OPTIONS if o.key not in sections]
    assert missing == [], f"options missing from docs/configuration.md: {missing}"
    for option in OPTIONS:
        assert f"`{option.env}`" in sections[option.key], option.key
        assert "```toml" in sections[option.key], f"{option.key} has no example"


def test_no_documented_option_is_unknown() -> None:
    sections = documented_options((DOCS / "configuration.md").read_text())
    known = {o.key for o in OPTIONS}
    assert sorted(set(sections) - known) == []


def test_the_check_catches_an_undocumented_option() -> None:
    """The guard itself must be able to fail: a page without one option is caught."""
    text = (DOCS / "configuration.md").read_text()
    without = re.sub(r"^### `compress`.*?(?=^### )", "", text, flags=re.MULTILINE | re.DOTALL)
    assert "compress" not in documented_options(without)
    assert "compress" in documented_options(text)
