"""No function in hatch_krust is longer than 60 lines (def to last line): orchestration
that grows past that is split into named steps instead (issue 9's rule, kept by a test)."""

from __future__ import annotations

import ast
from pathlib import Path

LIMIT = 60
SOURCE = Path(__file__).resolve().parents[2] / "hatch_krust"


def long_functions(root: Path, limit: int = LIMIT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    where = f"{path.relative_to(root.parent)}:{node.lineno}"
                    found.append(f"{where} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_the_limit() -> None:
    assert long_functions(SOURCE) == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "m.py").write_text(f"def too_long():\n{body}\n")
    assert long_functions(tmp_path) == [f"{tmp_path.name}/m.py:1 too_long ({LIMIT + 1} lines)"]
