"""The layering of `hatch_krust`, enforced (go-containerregistry's `depcheck_test.go` is the
model): every module is parsed with `ast`, every import it makes (at module level, inside
functions, under `TYPE_CHECKING`: each one is a dependency) is checked against the table
below. `docs/architecture.md` shows the same table; `rules_markdown()` prints it.

A name in a rule covers that module and everything under it (`hatch_krust.registry` covers
`hatch_krust.registry.client`); `allowed` names are exact modules. Imports made through
`importlib` strings are not seen.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import hatch_krust

PACKAGE = "hatch_krust"
SOURCE_ROOT = Path(hatch_krust.__file__).resolve().parent.parent

# What code outside `hatch_krust.registry` may import from it; the rest is private.
REGISTRY_PUBLIC = ("__init__", "api")

# Code that hatchling imports for every build of every project (its entry point): at
# import time it may import only these, and nothing of hatch_krust beyond its own packages.
LIGHT_MODULES = {
    "hatch_krust.plugin.hooks": (
        "__future__",
        "typing",
        "hatchling.plugin",
        "hatch_krust.__about__",
    ),
}


@dataclass(frozen=True)
class Rule:
    modules: str
    forbidden: tuple[str, ...]
    why: str
    allowed: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()


def _registry_public() -> tuple[str, ...]:
    reg = f"{PACKAGE}.registry"
    return tuple(reg if name == "__init__" else f"{reg}.{name}" for name in REGISTRY_PUBLIC)


RULES = (
    Rule(
        "hatch_krust.oci",
        (
            "hatch_krust.registry",
            "hatch_krust.freeze",
            "hatch_krust.building",
            "hatch_krust.formats",
            "hatch_krust.publish",
            "hatch_krust.flow",
            "hatch_krust.plugin",
            "hatch_krust.resolve",
            "hatch_krust.attest",
            "hatch_krust.config",
            "httpx",
            "hatchling",
        ),
        "images as files and bytes: no network, no Python packaging, no configuration",
    ),
    Rule(
        "hatch_krust.registry",
        (
            "hatch_krust.freeze",
            "hatch_krust.building",
            "hatch_krust.formats",
            "hatch_krust.publish",
            "hatch_krust.flow",
            "hatch_krust.plugin",
            "hatch_krust.resolve",
            "hatch_krust.attest",
            "hatch_krust.config",
            "hatchling",
        ),
        "the distribution protocol knows nothing about Python projects or builds",
    ),
    Rule(
        "hatch_krust.freeze",
        (
            "hatch_krust.oci",
            "hatch_krust.registry",
            "hatch_krust.building",
            "hatch_krust.formats",
            "hatch_krust.publish",
            "hatch_krust.flow",
            "hatch_krust.plugin",
            "hatch_krust.attest",
        ),
        "freezing a wheel into an executable knows nothing about images or registries",
    ),
    Rule(
        "hatch_krust.layered",
        (
            "hatch_krust.freeze",
            "hatch_krust.registry",
            "hatch_krust.building",
            "hatch_krust.formats",
            "hatch_krust.publish",
            "hatch_krust.flow",
            "hatch_krust.plugin",
            "hatch_krust.resolve",
            "hatch_krust.config",
            "hatchling",
        ),
        "laying a venv out as image layers knows nothing of builds, registries, options or the "
        "freezer (Python comes from hatch_krust.python)",
    ),
    Rule(
        "hatch_krust.building",
        ("hatch_krust.publish", "hatch_krust.flow", "hatch_krust.plugin", "hatch_krust.cli"),
        "building makes the image as values: where it goes is the flow's and publish's business",
    ),
    Rule(
        "hatch_krust.formats",
        (
            "hatch_krust.registry",
            "hatch_krust.publish",
            "hatch_krust.building",
            "hatch_krust.flow",
            "hatch_krust.plugin",
        ),
        "a format makes the program: it knows nothing of registries, publishing or the image",
    ),
    Rule(
        "hatch_krust.publish",
        (
            "hatch_krust.building",
            "hatch_krust.formats",
            "hatch_krust.flow",
            "hatch_krust.freeze",
            "hatch_krust.layered",
        ),
        "a destination learns the built image, never how it was made",
        allowed=("hatch_krust.building.built",),
    ),
    Rule(
        "hatch_krust.python",
        (
            "hatch_krust.oci",
            "hatch_krust.registry",
            "hatch_krust.building",
            "hatch_krust.formats",
            "hatch_krust.publish",
            "hatch_krust.flow",
            "hatch_krust.attest",
            "hatch_krust.plugin",
            "hatch_krust.layered",
            "hatch_krust.freeze",
            "hatch_krust.config",
            "hatch_krust.resolve",
        ),
        "the Python toolkit (interpreters, environments, wheels) knows nothing of images, "
        "builds or options",
    ),
    Rule(
        "hatch_krust.atomic",
        ("hatch_krust",),
        "the one atomic writer: everything may import it, it imports nothing of ours",
        allowed=("hatch_krust.atomic",),
    ),
    Rule(
        "hatch_krust.progress",
        ("hatch_krust",),
        "progress reporting is an interface: everything may import it, it imports nothing",
        allowed=("hatch_krust.progress",),
    ),
    Rule(
        "hatch_krust.errors",
        ("hatch_krust",),
        "the root of the error tree: everything may import it, it imports nothing of ours",
        allowed=("hatch_krust.errors",),
    ),
    Rule(
        "hatch_krust",
        ("hatch_krust.plugin",),
        "the Hatch classes sit on top: nothing else may depend on them",
        exempt=("hatch_krust.plugin",),
    ),
    Rule(
        "hatch_krust",
        ("hatch_krust.registry",),
        "outside hatch_krust.registry only its public modules are imported",
        allowed=_registry_public(),
        exempt=("hatch_krust.registry",),
    ),
)

# (importer, imported) pairs the tree breaks today: to be emptied, never added to. An entry
# that no longer occurs fails the test too, so the list cannot outlive the fix.
# Today: layered's use of freeze's private process runner, which the Python toolkit
# (`hatch_krust.python`, issue 17) makes public.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()

PRIVATE_WHY = "a private module (`_name`) is imported only from inside its own package"
CIRCLE_WHY = "no circle between the subpackages (and top-level modules) of hatch_krust"


# -- the checker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    name: str
    line: int
    at_import_time: bool  # runs when the module is imported (not in a function / TYPE_CHECKING)


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def covers(name: str, module: str) -> bool:
    return module == name or module.startswith(name + ".")


def module_names(root: Path) -> dict[str, Path]:
    """Every module of PACKAGE under `root` (the directory holding the package)."""
    names = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, at_import_time: bool) -> list[tuple[ast.AST, bool]]:
    """Every import statement under `node`, with whether it runs at module import time."""
    found: list[tuple[ast.AST, bool]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found.append((child, at_import_time))
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            found += _walk(child, False)
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for part in child.body:
                found += _walk(ast.Module(body=[part], type_ignores=[]), False)
            for part in child.orelse:
                found += _walk(ast.Module(body=[part], type_ignores=[]), at_import_time)
        else:
            found += _walk(child, at_import_time)
    return found


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    """The modules `module` imports; `from P import x` counts `P.x` when that is a module."""
    is_package = path.name == "__init__.py"
    result = []
    for node, at_import_time in _walk(ast.parse(path.read_text(), str(path)), True):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            assert isinstance(node, ast.ImportFrom)
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [
                f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known
            ]
        result += [Import(name, node.lineno, at_import_time) for name in names]  # type: ignore[attr-defined]
    return result


def _breaks(rule: Rule, module: str, imported: str) -> bool:
    if not covers(rule.modules, module) or any(covers(e, module) for e in rule.exempt):
        return False
    if imported in rule.allowed:
        return False
    return any(covers(name, imported) for name in rule.forbidden)


def _light_violations(modules: dict[str, Path], graph: dict[str, list[Import]]) -> list[Violation]:
    """What runs when each light module is imported: its own and its parent packages' code."""
    found = []
    for light, allowed in LIGHT_MODULES.items():
        parts = light.split(".")
        todo = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        own = set(todo)
        for current in todo:
            if current not in modules:
                continue
            for imp in graph[current]:
                if not imp.at_import_time or imp.name in allowed or imp.name in own:
                    continue
                why = (
                    f"{light} is imported for every build: only {', '.join(allowed)} at import time"
                )
                found.append(Violation(current, imp.line, imp.name, why))
    return found


def _private_owner(imported: str) -> str | None:
    """The package that owns the first private part of `imported` (`a.b._c.d` -> `a.b`)."""
    parts = imported.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _private_violations(graph: dict[str, list[Import]]) -> list[Violation]:
    found = []
    for module, imports in graph.items():
        for imp in imports:
            owner = _private_owner(imp.name)
            if covers(PACKAGE, imp.name) and owner is not None and not covers(owner, module):
                found.append(Violation(module, imp.line, imp.name, PRIVATE_WHY))
    return found


def import_graph(root: Path) -> dict[str, list[Import]]:
    """Every module of PACKAGE under `root` with the imports it makes."""
    modules = module_names(root)
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def unit_of(module: str) -> str | None:
    """The subpackage (or top-level module) `module` belongs to; None for the root."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == PACKAGE and len(parts) > 1 else None


def unit_graph(graph: dict[str, list[Import]]) -> dict[str, dict[str, Import]]:
    """Subpackage -> the subpackages it imports, each with one import that does it."""
    units: dict[str, dict[str, Import]] = {}
    for module, imports in sorted(graph.items()):
        here = unit_of(module)
        if here is None:
            continue
        edges = units.setdefault(here, {})
        for imp in imports:
            there = unit_of(imp.name)
            if there is not None and there != here:
                edges.setdefault(there, Import(f"{module}:{imp.line}", imp.line, False))
    return units


def circles(units: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Each circle among the units (a strongly connected set of two or more), sorted;
    found with graphlib's topological sort, repeated after each circle is taken out."""
    from graphlib import CycleError, TopologicalSorter

    remaining = {unit: set(edges) for unit, edges in units.items()}
    found: list[list[str]] = []
    while True:
        try:
            tuple(TopologicalSorter(remaining).static_order())
        except CycleError as exc:
            cycle = sorted(set(exc.args[1]))
            if cycle not in found:
                found.append(cycle)
            first, second = exc.args[1][0], exc.args[1][1]
            remaining[second].discard(first)  # break this circle, look for the next
            continue
        return sorted(found)


def _circle_violations(graph: dict[str, list[Import]]) -> list[Violation]:
    units = unit_graph(graph)
    found = []
    for cycle in circles(units):
        steps = [
            f"{a} -> {b} ({units[a][b].name})"
            for a in cycle
            for b in cycle
            if b in units.get(a, {})
        ]
        found.append(Violation(cycle[0], 0, " / ".join(cycle), f"{CIRCLE_WHY}: {'; '.join(steps)}"))
    return found


def check(root: Path, rules: tuple[Rule, ...] = RULES) -> list[Violation]:
    """Every import under `root/PACKAGE` that a rule forbids, and every circle."""
    modules = module_names(root)
    graph = import_graph(root)
    found = [
        Violation(module, imp.line, imp.name, rule.why)
        for module, imports in graph.items()
        for imp in imports
        for rule in rules
        if _breaks(rule, module, imp.name)
    ]
    found += _private_violations(graph) + _circle_violations(graph)
    return found + _light_violations(modules, graph)


def rules_markdown(rules: tuple[Rule, ...] = RULES) -> str:
    """The rule table as docs/architecture.md shows it."""
    lines = ["| Code in | Must not import | Except | Why |", "|---|---|---|---|"]
    for rule in rules:
        where = f"`{rule.modules}`" + "".join(f" (not `{e}`)" for e in rule.exempt)
        forbidden = ", ".join(f"`{name}`" for name in rule.forbidden)
        allowed = ", ".join(f"`{name}`" for name in rule.allowed) or "-"
        lines.append(f"| {where} | {forbidden} | {allowed} | {rule.why} |")
    private = "another package's private module (`_name`)"
    lines.append(f"| `hatch_krust` | {private} | - | {PRIVATE_WHY} |")
    lines.append(f"| `hatch_krust` | a package that imports it back | - | {CIRCLE_WHY} |")
    for light, allowed in LIGHT_MODULES.items():
        only = ", ".join(f"`{name}`" for name in allowed)
        lines.append(
            f"| `{light}` at import time | anything but {only} | its own packages | "
            "hatchling imports it for every build of every project |"
        )
    return "\n".join(lines)


# -- the tests ------------------------------------------------------------------------------


def test_the_tree_keeps_the_import_rules() -> None:
    found = {(v.module, v.imported): v for v in check(SOURCE_ROOT)}
    new = [str(v) for key, v in sorted(found.items()) if key not in KNOWN_VIOLATIONS]
    assert not new, "imports that break the layering:\n" + "\n".join(new)
    stale = sorted(KNOWN_VIOLATIONS - found.keys())
    assert not stale, f"fixed: remove from KNOWN_VIOLATIONS: {stale}"


def test_the_checker_sees_the_whole_package() -> None:
    names = module_names(SOURCE_ROOT)
    for expected in (
        "hatch_krust",
        "hatch_krust.oci.layout",
        "hatch_krust.registry.api",
        "hatch_krust.plugin.hooks",
        "hatch_krust.freeze",
    ):
        assert expected in names
    assert len(names) > 50


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in {f"{PACKAGE}/__init__.py": "", **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            init = root / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("")
        path.write_text(text)
    return root


def test_a_forbidden_import_is_reported(tmp_path: Path) -> None:
    """The checker on a made-up tree: each kind of forbidden import is caught, with its line."""
    root = _tree(tmp_path, {
        "hatch_krust/registry/client.py": "",
        "hatch_krust/registry/api.py": "from . import client\n",
        "hatch_krust/oci/layout.py": (
            "import json\n\ndef pull():\n    from ..registry import client\n    return client\n"
        ),
        "hatch_krust/freeze/bundle.py": "from hatch_krust.oci.layout import pull\n",
        "hatch_krust/attest/push.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from hatch_krust.registry.client import Registry\n"
        ),
        "hatch_krust/plugin/hooks.py": "import typing\nimport httpx\n",
        "hatch_krust/plugin/__init__.py": "from hatch_krust.attest import push\n",
    })  # fmt: skip
    found = {(v.module, v.line, v.imported) for v in check(root)}
    assert found == {
        ("hatch_krust.oci.layout", 4, "hatch_krust.registry"),
        ("hatch_krust.oci.layout", 4, "hatch_krust.registry.client"),
        ("hatch_krust.freeze.bundle", 1, "hatch_krust.oci.layout"),
        ("hatch_krust.attest.push", 3, "hatch_krust.registry.client"),
        ("hatch_krust.plugin.hooks", 2, "httpx"),
        ("hatch_krust.plugin", 1, "hatch_krust.attest"),
        ("hatch_krust.plugin", 1, "hatch_krust.attest.push"),
    }


def test_allowed_imports_are_not_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "hatch_krust/errors.py": "from __future__ import annotations\nimport json\n",
        "hatch_krust/registry/api.py": "from hatch_krust.errors import KrustError\n",
        "hatch_krust/registry/client.py": "from hatch_krust.registry import api\n",
        "hatch_krust/cli.py": "from hatch_krust.registry import api, locations\n",
        "hatch_krust/oci/layout.py": "from hatch_krust.errors import KrustError\nimport json\n",
        "hatch_krust/plugin/hooks.py": (
            "from typing import TYPE_CHECKING\nfrom hatchling.plugin import hookimpl\n"
            "if TYPE_CHECKING:\n    import httpx\n"
            "def later():\n    from hatch_krust.plugin import builder\n"
        ),
        "hatch_krust/plugin/builder.py": "import httpx\nfrom hatch_krust.cli import main\n",
    })  # fmt: skip
    assert check(root) == []


def test_errors_importing_the_package_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "hatch_krust/errors.py": "import os\nfrom . import registry\n",
            "hatch_krust/registry/__init__.py": "",
        },
    )
    assert [str(v) for v in check(root)] == [
        "hatch_krust.errors:2 imports hatch_krust: the root of the error tree: everything may "
        "import it, it imports nothing of ours",
        "hatch_krust.errors:2 imports hatch_krust.registry: the root of the error tree: "
        "everything may import it, it imports nothing of ours",
    ]


def test_the_rules_render_as_a_table() -> None:
    table = rules_markdown().splitlines()
    assert table[0] == "| Code in | Must not import | Except | Why |"
    assert len(table) == 2 + len(RULES) + 2 + len(LIGHT_MODULES)
    assert any("`hatch_krust.registry.api`" in line for line in table)


def test_a_circle_between_subpackages_is_reported(tmp_path: Path) -> None:
    """building -> publish -> building (under TYPE_CHECKING too) is a circle; a third
    package that only imports one of them is not part of it."""
    root = _tree(tmp_path, {
        "hatch_krust/building/image.py": "from hatch_krust.publish import engine\n",
        "hatch_krust/publish/engine.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from hatch_krust.building.image import Built\n"
        ),
        "hatch_krust/flow.py": "from hatch_krust.building import image\n",
    })  # fmt: skip
    found = [v for v in check(root, rules=()) if v.why.startswith(CIRCLE_WHY)]
    assert len(found) == 1, found
    assert found[0].imported == "hatch_krust.building / hatch_krust.publish"
    assert "hatch_krust.building.image:1" in found[0].why
    assert "hatch_krust.publish.engine:3" in found[0].why


def test_two_circles_are_both_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "hatch_krust/a/m.py": "from hatch_krust.b import m\n",
        "hatch_krust/b/m.py": "from hatch_krust.a import m\n",
        "hatch_krust/c/m.py": "from hatch_krust.d import m\n",
        "hatch_krust/d/m.py": "import hatch_krust.c.m\n",
    })  # fmt: skip
    units = unit_graph(import_graph(root))
    assert circles(units) == [
        ["hatch_krust.a", "hatch_krust.b"],
        ["hatch_krust.c", "hatch_krust.d"],
    ]


def test_the_real_tree_has_no_circle() -> None:
    units = unit_graph(import_graph(SOURCE_ROOT))
    assert "hatch_krust.building" in units
    assert "hatch_krust.publish" in units["hatch_krust.flow"]  # the flow composes both
    assert circles(units) == []


def test_a_private_module_of_another_package_is_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "hatch_krust/freeze/_process.py": "",
        "hatch_krust/freeze/environment.py": "from hatch_krust.freeze._process import run\n",
        "hatch_krust/layered/bytecode.py": "from hatch_krust.freeze._process import run\n",
    })  # fmt: skip
    assert [(v.module, v.imported) for v in check(root, rules=())] == [
        ("hatch_krust.layered.bytecode", "hatch_krust.freeze._process")
    ]
