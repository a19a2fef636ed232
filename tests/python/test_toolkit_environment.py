"""The toolkit runs every tool with the environment it is given: no module of
`hatch_krust.python` reads or writes the process's environment (checked on the syntax tree,
so an alias or a `from os import environ` is caught too)."""

from __future__ import annotations

import ast
from pathlib import Path

import hatch_krust.python

TOOLKIT = Path(hatch_krust.python.__file__).parent
PROCESS_ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(source: str, filename: str) -> list[str]:
    """`os.environ`-like uses in `source`, as `file:line name`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Attribute) and node.attr in PROCESS_ENVIRONMENT:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append(f"{filename}:{node.lineno} os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {alias.name for alias in node.names} & PROCESS_ENVIRONMENT
            found += [f"{filename}:{node.lineno} from os import {n}" for n in sorted(names)]
    return found


def test_no_toolkit_module_touches_the_process_environment() -> None:
    modules = sorted(TOOLKIT.glob("*.py"))
    assert len(modules) >= 10  # the walk sees the package
    found = [use for path in modules for use in environment_uses(path.read_text(), path.name)]
    assert found == []


def test_the_check_sees_reads_writes_and_imports() -> None:
    source = (
        "import os\nfrom os import environ, getenv\n"
        "a = os.environ.get('X')\nos.environ['Y'] = '1'\nb = os.getenv('Z')\n"
    )
    assert sorted(environment_uses(source, "m.py")) == [
        "m.py:2 from os import environ",
        "m.py:2 from os import getenv",
        "m.py:3 os.environ",
        "m.py:4 os.environ",
        "m.py:5 os.getenv",
    ]
