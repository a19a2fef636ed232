"""The build-time import check: the executable must import what the venv imports.

Every module in the RECORD of the installed distributions (hatch_krust/freeze/collect.py)
and every entry point they declare is tried once in the freeze environment, in a child
process; what fails there (an optional dependency missing, a test module, a side effect)
is left out. The frozen program is then run once in its launcher's check mode
(`checkmode.CHECK_ENV`) with the rest. Anything the venv imports and the executable does
not ends the build with one message naming it and the options that fix it.

Modules that PyInstaller's hooks leave out on purpose (`excludedimports`: numpy's hook
drops `distutils` and `numpy.distutils`, build-time tools) are read from the hooks of the
collected packages; the freezer's own distributions share the venv but are not the
program's (a module that imports `staticx` imports in the venv only). An item that fails
only for want of one of them is not counted.

A child that dies while importing (os._exit, a crash, a hang past the time limit) is
restarted after the item that killed it; that item counts as failed.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError
from hatch_krust.freeze.checkmode import CHECK_ENV

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from hatch_krust.freeze.collect import Installed

__all__ = [
    "CheckResult",
    "check_items",
    "check_source",
    "hook_dirs",
    "hook_exclusions",
    "run_items",
    "verify_imports",
    "without_exclusions",
]

# Entry-point groups only build tools read; their targets need the tool, not the program.
_TOOL_GROUPS = frozenset({"pyinstaller40", "distutils.commands", "distutils.setup_keywords"})
RUN_TIMEOUT = 600  # seconds for one child; a hang costs that once, then the check moves on
MAX_RESTARTS = 50
SHOWN = 15  # items named in the message; the count says how many more
NOT_TRIED = "not tried"


@dataclass(frozen=True)
class CheckResult:
    """What the check tried, what the venv imported, what the executable missed, its cost."""

    tried: int
    importable: int
    missing: tuple[str, ...]
    seconds: float
    errors: Mapping[str, str] = field(default_factory=dict)  # missing item -> its error


def check_source() -> str:
    """The text of checkmode.py: run by the venv's Python, embedded by the launcher."""
    return (resources.files("hatch_krust.freeze") / "checkmode.py").read_text(encoding="utf-8")


def check_items(
    installed: Iterable[Installed], excluded_modules: Iterable[str], excluded_groups: Iterable[str]
) -> list[str]:
    """`module:NAME` and `entry:MODULE:ATTR` items for every module and entry point."""
    skip_modules = tuple(excluded_modules)
    skip_groups = _TOOL_GROUPS | set(excluded_groups)
    items: dict[str, None] = {}
    for dist in installed:
        for module in dist.modules:
            if not any(module == s or module.startswith(f"{s}.") for s in skip_modules):
                items[f"module:{module}"] = None
        for group, value in dist.entry_points:
            target = value.split("[", 1)[0].strip()
            top = target.split(":", 1)[0].split(".", 1)[0]
            if group not in skip_groups and target and not top.startswith(skip_modules):
                items[f"entry:{target}"] = None
    return list(items)


def _read_report(path: Path) -> tuple[dict[str, str], str | None]:
    """Results so far (item -> error, '' for ok) and the item being tried when it stopped."""
    results: dict[str, str] = {}
    pending: str | None = None
    if not path.exists():
        return results, pending
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split("\t")
        if fields[0] == "try" and len(fields) > 1:
            pending = fields[1]
        elif fields[0] in ("ok", "fail") and len(fields) > 1:
            results[fields[1]] = fields[2] if fields[0] == "fail" and len(fields) > 2 else ""
            if fields[0] == "fail" and not results[fields[1]]:
                results[fields[1]] = "failed"
            pending = None
    return results, pending


def _run_once(
    command: Sequence[str], env: Mapping[str, str], items: list[str], work: Path
) -> tuple[dict[str, str], str | None, str]:
    """One child over `items`: its results, the item it died on, and how it ended."""
    work.mkdir(parents=True, exist_ok=True)
    request = Path(tempfile.mkstemp(prefix="request-", suffix=".json", dir=work)[1])
    report = Path(tempfile.mkstemp(prefix="report-", suffix=".txt", dir=work)[1])
    request.write_text(json.dumps(items), encoding="utf-8")
    child_env = {**env, CHECK_ENV: f"{request}:{report}"}
    try:
        done = subprocess.run(
            list(command),
            env=child_env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        how = f"ended the process (exit status {done.returncode})"
    except subprocess.TimeoutExpired:
        how = f"did not finish in {RUN_TIMEOUT} s"
    except OSError as exc:
        message = (
            f"The import check could not run {command[0]}: {exc}. To build without this "
            "check, set `import-check = false` (environment variable `KRUST_IMPORT_CHECK=0`)."
        )
        raise FreezeError(message) from None
    results, pending = _read_report(report)
    return results, pending, how


def run_items(
    command: Sequence[str], env: Mapping[str, str], items: list[str], work: Path
) -> dict[str, str]:
    """item -> error ('' when it imported) for every item, restarting after a fatal one."""
    results: dict[str, str] = {}
    todo = list(items)
    for _ in range(MAX_RESTARTS):
        found, pending, how = _run_once(command, env, todo, work)
        results.update(found)
        if pending is not None:
            results[pending] = how
        todo = [item for item in todo if item not in results]
        if not todo or (pending is None and not found):
            break
    for item in todo:
        results.setdefault(item, NOT_TRIED)
    return results


def verify_imports(
    venv_python: Path,
    executable: Path,
    items: list[str],
    env: Mapping[str, str],
    work: Path,
) -> CheckResult:
    """Try `items` in the venv, then what imported there in the executable's check mode."""
    start = time.monotonic()
    script = work / "checkmode" / "krust_checkmode.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(check_source(), encoding="utf-8")
    venv = run_items([str(venv_python), "-I", str(script)], env, items, work / "venv")
    importable = [item for item in items if venv.get(item) == ""]
    frozen_env = {**env, "TMPDIR": str(work / "tmp")}
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    frozen = run_items([str(executable)], frozen_env, importable, work / "frozen")
    if importable and all(frozen.get(item) == NOT_TRIED for item in importable):
        message = (
            f"The import check could not run the executable {executable.name} in its check "
            f"mode ({CHECK_ENV}): it wrote no report. To build without this check, set "
            "`import-check = false` (environment variable `KRUST_IMPORT_CHECK=0`)."
        )
        raise FreezeError(message)
    missing = tuple(item for item in importable if frozen.get(item) != "")
    errors = {item: frozen.get(item) or "" for item in missing}
    return CheckResult(len(items), len(importable), missing, time.monotonic() - start, errors)


def _short(error: str, limit: int = 100) -> str:
    return error if len(error) <= limit else error[: limit - 1] + "…"


def missing_message(result: CheckResult, collect: str) -> str:
    """The one message for a failed check: the items, then the options that fix it."""
    names = [item.split(":", 1)[1] for item in result.missing]
    shown = ", ".join(
        f"`{n}` ({_short(result.errors.get(item, ''))})" if result.errors.get(item) else f"`{n}`"
        for n, item in zip(names[:SHOWN], result.missing, strict=False)
    )
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    if collect != "all":
        fix = (
            'set `collect = "all"` (environment variable `KRUST_COLLECT=all`) to bundle every '
            "module of the installed distributions, or name them in `hidden-imports`"
        )
    else:
        fix = "name them in `hidden-imports` (or collect them with `pyinstaller-args`)"
    return (
        f"The executable cannot import {len(names)} of the {result.importable} modules and "
        f"entry points that import in the build's environment: {shown}{more}. To fix it, "
        f"{fix}; to build without this check, set `import-check = false` "
        "(environment variable `KRUST_IMPORT_CHECK=0`)."
    )


_NOT_FOUND = re.compile(
    r"^(?:ModuleNotFoundError: No module named '([^']+)'"
    r"|PackageNotFoundError: No package metadata was found for (\S+))"
)

# Run by the freeze environment's Python: PyInstaller's hook directories, its own and
# those installed packages register (the `pyinstaller40` `hook-dirs` entry point).
_HOOK_DIRS = r"""
import importlib.metadata as md, json, os
import PyInstaller
dirs = [os.path.join(os.path.dirname(PyInstaller.__file__), "hooks")]
for ep in md.entry_points(group="pyinstaller40"):
    if ep.name == "hook-dirs":
        try:
            dirs += [str(d) for d in ep.load()()]
        except Exception:
            pass
print(json.dumps(dirs))
"""


def hook_dirs(python: Path, env: Mapping[str, str]) -> list[Path]:
    """PyInstaller's hook directories in the freeze environment; [] when it cannot say."""
    done = subprocess.run(
        [str(python), "-I", "-c", _HOOK_DIRS],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return [Path(d) for d in json.loads(done.stdout)]
    except ValueError:
        return []


def _excluded_in(hook: Path) -> set[str]:
    """The names a hook's `excludedimports` lists (every literal assignment, whatever the
    condition around it: a superset)."""
    try:
        tree = ast.parse(hook.read_text("utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "excludedimports" for t in targets):
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue
        if isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return found


def hook_exclusions(dirs: Iterable[Path], packages: Iterable[str]) -> frozenset[str]:
    """What the hooks of `packages` (top-level names) exclude on purpose."""
    wanted = set(packages)
    found: set[str] = set()
    for directory in dirs:
        for hook in sorted(directory.glob("hook-*.py")) if directory.is_dir() else []:
            if hook.name[5:-3].split(".")[0] in wanted:
                found |= _excluded_in(hook)
    return frozenset(found)


def without_exclusions(result: CheckResult, excluded: frozenset[str]) -> CheckResult:
    """`result` without the items that fail only for want of an `excluded` module or
    distribution (a hook's `excludedimports`, the freezer's own tools)."""

    def excluded_cause(item: str) -> bool:
        match = _NOT_FOUND.match(result.errors.get(item, ""))
        if match is None:
            return False
        parts = (match.group(1) or match.group(2)).split(".")
        return any(".".join(parts[:n]) in excluded for n in range(1, len(parts) + 1))

    missing = tuple(item for item in result.missing if not excluded_cause(item))
    errors = {item: result.errors[item] for item in missing if item in result.errors}
    return replace(result, missing=missing, errors=errors)
