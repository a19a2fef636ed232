"""The option names hatchling itself reads from a target's table and a hook's table.

A krust table may hold them beside our own options (`reproducible`, `dev-mode-exact`,
`hooks`, ...); a hand-written copy drifts with every hatchling release, so the names are
read from the source of hatchling's `BuilderConfig`: each string it looks up in a
config table (`"x" in ...config`, `...config.get("x")`, `...config["x"]`). Tables named
`config` there are a build hook's table; the others are the target's or the global one.
"""

from __future__ import annotations

import ast
import functools
import inspect

__all__ = ["hook_keys", "target_keys"]


def target_keys() -> frozenset[str] | None:
    """Keys hatchling reads from a target's table; None when its source cannot be read."""
    found = _keys_read()
    return None if found is None else found[0]


def hook_keys() -> frozenset[str] | None:
    """Keys hatchling reads from a build hook's table; None when its source cannot be read."""
    found = _keys_read()
    return None if found is None else found[1]


@functools.cache
def _keys_read() -> tuple[frozenset[str], frozenset[str]] | None:
    from hatchling.builders.config import BuilderConfig

    try:
        tree = ast.parse(inspect.getsource(BuilderConfig))
    except (OSError, TypeError, SyntaxError):  # installed without sources
        return None
    target: set[str] = set()
    hook: set[str] = set()
    for node in ast.walk(tree):
        looked_up = _lookup(node)
        if looked_up is not None:
            table, key = looked_up
            (hook if table == "config" else target).add(key)
    return frozenset(target), frozenset(hook)


def _lookup(node: ast.AST) -> tuple[str, str] | None:
    """(table name, key) when `node` reads a literal key from a `*config` table."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In):
        key, table = node.left, node.comparators[0]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        if node.func.attr != "get":
            return None
        key, table = node.args[0], node.func.value
    elif isinstance(node, ast.Subscript):
        key, table = node.slice, node.value
    else:
        return None
    name = _name(table)
    if name is None or not name.endswith("config"):
        return None
    if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
        return None
    return name, key.value


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
