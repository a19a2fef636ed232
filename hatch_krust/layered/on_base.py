"""The layers of a layered image on a Python base: only what is the project's.

The base brings the interpreter, the standard library and the C library; the image adds
two layers: the third-party packages (a venv at `/app` whose home is the base's
interpreter, and the launcher) and the project. Nothing of the build machine goes in:
no interpreter, no library. Bytecode is compiled by a Python of the same minor version
that runs here (`compiler`; None: no bytecode, the image still runs, each start compiles
in memory). A pure-Python project's layer has the same bytes for every platform.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from hatch_krust.layered.layers import LayerPlan
from hatch_krust.layered.libraries import LibraryScan, SystemLibrary
from hatch_krust.layered.packages import split_environment, venv_skeleton
from hatch_krust.layered.plan import LAUNCHER_PATH, LayeredPlan
from hatch_krust.oci.layer import bytes_entry

if TYPE_CHECKING:
    from hatch_krust.layered.base_python import BasePython

__all__ = ["base_bundle", "plan_on_base"]


def plan_on_base(
    python: BasePython, venv: Path, project: str, compiler: Path | None
) -> LayeredPlan:
    """Plan the two layers for `project` installed in `venv` for the base's `python`."""
    launcher = (resources.files("hatch_krust") / "pid1.py").read_bytes()  # any Python 3.8+
    env = split_environment(venv, project)
    third = [
        *venv_skeleton(python.executable, python.version),
        bytes_entry(LAUNCHER_PATH, launcher, 0o644),
        *env.third_party,
    ]
    site = (env.site_packages,) if compiler is not None else ()
    # the key names the target's minor version, not this machine's compiler path: the
    # same inputs give the same layer on any build machine
    version = f"bytecode for {python.minor}" if compiler is not None else ""
    plans = (
        LayerPlan("third-party packages", tuple(third), site, compiler, version),
        LayerPlan("project", env.project, site, compiler, version),
    )
    interpreter = SystemLibrary(python.executable, Path(python.executable))
    return LayeredPlan(
        plans, LibraryScan((), ()), env.distributions, env.scripts, python.version, interpreter
    )


def base_bundle(plan: LayeredPlan, python: BasePython) -> dict[str, Any]:
    """What the image holds for the SBOM: the base's Python as its package database
    names it, and this platform's distributions (FreezeResult.bundle's shape)."""
    origin: dict[str, Any] = {
        "prefix": str(PurePosixPath(python.executable).parent.parent),
        "builder": "the base image",
    }
    package = python.package
    if package is not None and package.kind == "debian":
        origin["debian"] = {
            "package": package.name,
            "version": package.version,
            "architecture": package.architecture,
            "source": "",
        }
    distributions = [
        {"name": d.name, "version": d.version, "files": []} for d in plan.distributions
    ]
    return {
        "layout": "layered",
        "distributions": sorted(distributions, key=lambda d: d["name"].lower()),
        "python": {"name": "CPython", "version": python.version, "origin": origin},
        "native": [],
    }
