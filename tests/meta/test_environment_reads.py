"""Configuration only through the config: below the entry points nothing reads or writes
the process's environment (`os.environ`, `os.getenv`, `os.putenv`, `os.unsetenv`, or
`environ` imported from `os`). The entry points read it once and pass it down as the
configuration's `environ` (or the registry `Options`' `env`).

Found with `ast`, so a mention in a string (the static launcher's source, which runs in
the image) or a docstring is not a read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hatch_krust

PACKAGE_ROOT = Path(hatch_krust.__file__).resolve().parent

# The entry points: each reads the environment once, for the build or command it starts.
ENTRY_POINTS = (
    "hatch_krust.cli",
    "hatch_krust.plugin",
    "hatch_krust.flow",
    # scripts run by a child interpreter inside the freeze environment: their own entry points
    "hatch_krust.freeze._runners",
    # embedded in the static launcher: run inside the frozen program, as its check mode
    "hatch_krust.freeze.checkmode",
)

# Modules that still read it, each with why and who removes it: to be emptied, never added
# to. An entry that no longer reads the environment fails the test, so none outlives its fix.
PENDING = {
    "hatch_krust.registry.credentials": "`Options.env=None` means the process's, for library "
    "callers of `registry.api` (the CLI and every build pass theirs)",
}

_CALLS = {"getenv", "putenv", "unsetenv", "environ", "environb", "getenvb"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def environment_uses(source: str) -> list[int]:
    """Lines where `source` touches the process's environment."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _CALLS
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ) or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in _CALLS for alias in node.names)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def readers(root: Path = PACKAGE_ROOT) -> dict[str, list[int]]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        lines = environment_uses(path.read_text())
        if lines:
            found[module_name(path)] = lines
    return found


def _allowed(module: str) -> bool:
    return any(module == e or module.startswith(e + ".") for e in ENTRY_POINTS)


def test_nothing_below_the_entry_points_reads_the_environment() -> None:
    found = readers()
    below = {m: lines for m, lines in found.items() if not _allowed(m) and m not in PENDING}
    assert not below, f"reads of os.environ below the entry points (module: lines): {below}"
    stale = sorted(set(PENDING) - {m for m in found if not _allowed(m)})
    assert not stale, f"no longer read the environment: remove from PENDING: {stale}"


def test_the_entry_points_are_where_it_is_read() -> None:
    found = readers()
    assert "hatch_krust.cli" in found
    assert "hatch_krust.plugin.builder" in found
    for quiet in ("hatch_krust.oci.layout", "hatch_krust.registry.security"):
        assert quiet not in found, quiet


def test_every_way_of_reading_it_is_seen() -> None:
    source = (
        "import os\nfrom os import environ, path\n"
        "a = os.environ['X']\nb = os.getenv('Y')\nos.putenv('Z', '1')\n"
        "text = 'os.environ is only a string here'\nc = os.path.join('a')\n"
    )
    assert environment_uses(source) == [2, 3, 4, 5]
