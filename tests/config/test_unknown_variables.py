"""`KRUST_*` variables nothing reads are named (hatch_krust.config.unknown_variables)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hatch_krust.config import _OTHER_VARIABLES, OPTIONS, unknown_variables

PACKAGE = Path(__file__).resolve().parents[2] / "hatch_krust"


def test_a_misspelt_variable_gets_the_one_it_stands_for() -> None:
    env = {"KRUST_FROMAT": "static", "KRUST_FORMAT": "layered", "PATH": "/bin",
           "KRUST_WHATEVER": "1", "KRUST_TEST_CACHE": "/tmp/x"}  # fmt: skip
    assert unknown_variables(env) == [
        "environment variable `KRUST_FROMAT` is not a hatch-krust setting and is ignored: "
        "did you mean `KRUST_FORMAT`?",
        "environment variable `KRUST_WHATEVER` is not a hatch-krust setting and is ignored: "
        "see docs/configuration.md",
    ]


def test_every_variable_hatch_krust_reads_is_known() -> None:
    """A variable the code reads (an option's, the machine's, an internal one) is never
    called unknown, and the list in config.py names only variables the code reads."""
    names = {
        node.value
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and re.fullmatch(r"KRUST_[A-Z][A-Z0-9_]*[A-Z0-9]", node.value)
    }  # fmt: skip
    assert len(names) > len(OPTIONS)  # the scan found the options and more
    assert unknown_variables(dict.fromkeys(names, "")) == []
    assert names >= _OTHER_VARIABLES
