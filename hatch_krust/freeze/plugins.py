"""Plugins and data files of dependencies, which PyInstaller's import analysis cannot see.

PyInstaller follows imports only, but a library that loads its parts through entry points
(`virtualenv.discovery.builtin`, pytest plugins, tox's, …) imports them by name at run
time, while the metadata copied into the executable still advertises them. So every
module that a distribution the project needs (with its extras) registers under an entry
point is bundled: `--hidden-import` for the module, `--collect-data` for its package and
`--copy-metadata` for the distribution. Packages of dependencies that ship data files
(grammars, templates, schemas read at run time, like `rfc3987_syntax`'s `.lark` file) get
`--collect-data` too. Where PyInstaller or its contributed hooks have a hook for a package,
its data is left to the hook. Entry-point groups can be left out by option.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import FreezeError
from hatch_krust.python.process import ToolFailed, run_tool, stage_failed

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hatch_krust.freeze.spec import FreezeRequest
    from hatch_krust.python.environment import FreezeEnvironment

__all__ = ["ALWAYS_EXCLUDED", "Plugin", "find_plugins", "plugin_args", "with_plugins"]

# Groups that only tools read at build time: bundling their modules would be dead weight.
ALWAYS_EXCLUDED = frozenset({"pyinstaller40", "distutils.commands", "distutils.setup_keywords"})

# Run by the freeze environment's Python with argv = [project, extras-json]. It walks the
# project's requirements (markers evaluated there, extras followed) and prints the entry
# points of each distribution reached, plus the packages PyInstaller has a hook for.
# The requirement walk both probes share (this one and freeze/collect.py's): `seen` maps
# each distribution the project requires (markers evaluated, extras followed) to its extras.
WALK_REQUIREMENTS = r"""
import importlib.metadata as md, json, os, re, sys
from packaging.requirements import Requirement
canon = lambda n: re.sub(r"[-_.]+", "-", n).lower()
dists = {}
for d in md.distributions():
    dists.setdefault(canon(d.metadata["Name"] or ""), d)
todo, seen = [(canon(sys.argv[1]), tuple(json.loads(sys.argv[2])))], {}
while todo:
    name, extras = todo.pop()
    if name not in dists or (name in seen and set(extras) <= set(seen[name])):
        continue
    seen[name] = tuple(set(seen.get(name, ())) | set(extras))
    for line in dists[name].requires or []:
        req = Requirement(line)
        envs = [{"extra": e} for e in ("", *extras)]
        if req.marker is None or any(req.marker.evaluate(e) for e in envs):
            todo.append((canon(req.name), tuple(canon(x) for x in req.extras)))
"""

_PROBE = WALK_REQUIREMENTS + r"""
hooks = set()
dirs = [os.path.join(os.path.dirname(__import__("PyInstaller").__file__), "hooks")]
for ep in md.entry_points(group="pyinstaller40"):
    if ep.name == "hook-dirs":
        try:
            dirs += list(ep.load()())
        except Exception:
            pass
for d in dirs:
    if os.path.isdir(d):
        hooks.update(f[5:-3] for f in os.listdir(d) if f.startswith("hook-") and f.endswith(".py"))
out, data = [], set()
code = (".py", ".pyc", ".pyi", ".so", ".pyd", ".typed")
for name in sorted(seen):
    if name == canon(sys.argv[1]):
        continue
    for ep in dists[name].entry_points:
        out.append([dists[name].metadata["Name"], ep.group, ep.module])
    for f in dists[name].files or []:
        parts = f.parts
        if len(parts) > 1 and parts[0].isidentifier() and "__pycache__" not in parts:
            if not f.name.endswith(code) and not parts[0].endswith((".dist-info", ".data")):
                data.add(parts[0])
print(json.dumps({"entry_points": out, "hooks": sorted(hooks), "data": sorted(data)}))
"""


@dataclass(frozen=True)
class Plugin:
    """One entry point of a dependency: the distribution, the group, the module."""

    distribution: str
    group: str
    module: str


def run_probe(
    env: FreezeEnvironment, probe: str, project: tuple[str, Iterable[str]], stage: str
) -> Any:
    """The JSON a probe (WALK_REQUIREMENTS + its own tail) prints, run by the freeze
    environment's Python for the project and its extras; `stage` names it in errors."""
    name, extras = project
    args = [str(env.python), "-I", "-c", probe, name, json.dumps(sorted(extras))]
    try:
        return json.loads(run_tool(args, env=env.tool_env()))
    except ToolFailed as exc:
        raise stage_failed(stage, exc) from None
    except ValueError as exc:
        message = f"{stage} gave no JSON: {exc}"
        raise FreezeError(message) from None


def find_plugins(
    env: FreezeEnvironment, project: str, extras: Iterable[str], excluded: Iterable[str]
) -> tuple[list[Plugin], set[str], list[str]]:
    """The dependencies' entry points (excluded groups left out), the modules PyInstaller
    has hooks for, and the dependencies' top-level packages that hold data files."""
    info = run_probe(env, _PROBE, (project, extras), "Listing the entry points of the dependencies")
    skip = ALWAYS_EXCLUDED | set(excluded)
    plugins = [
        Plugin(dist, group, module)
        for dist, group, module in info["entry_points"]
        if group not in skip and module
    ]
    return plugins, set(info["hooks"]), list(info["data"])


def plugin_args(
    plugins: Iterable[Plugin], hooked: set[str], own: Iterable[str], data: Iterable[str] = ()
) -> list[str]:
    """PyInstaller arguments bundling `plugins` and the `data` packages' files; packages in
    `own` are collected already."""
    own_packages = set(own)
    args: list[str] = []
    modules: dict[str, None] = {}
    packages = dict.fromkeys(p for p in data if p not in own_packages and not _hooked(p, hooked))
    distributions: dict[str, None] = {}
    for plugin in plugins:
        top = plugin.module.split(".")[0]
        if top in own_packages:
            continue
        modules[plugin.module] = None
        distributions[plugin.distribution] = None
        if not _hooked(top, hooked):
            packages[top] = None
    for module in modules:
        args += ["--hidden-import", module]
    for package in packages:
        args += ["--collect-data", package]
    for distribution in distributions:
        args += ["--copy-metadata", distribution]
    return args


def _hooked(package: str, hooked: set[str]) -> bool:
    """PyInstaller has a hook for the package or one of its modules: it decides the data."""
    return any(name == package or name.startswith(f"{package}.") for name in hooked)


def with_plugins(
    env: FreezeEnvironment, request: FreezeRequest, own: Iterable[str]
) -> FreezeRequest:
    """`request` with the dependencies' plugins added before the user's PyInstaller args."""
    plugins, hooked, data = find_plugins(
        env, request.dist_name, request.extras, request.exclude_entry_point_groups
    )
    args = plugin_args(plugins, hooked, own, data)
    return replace(request, freezer_args=(*args, *request.freezer_args))
