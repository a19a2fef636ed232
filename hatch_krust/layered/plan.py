"""The four layers of a layered image, from least to most often changed.

1. system libraries: the loader, libc and what the interpreter and extensions link;
2. interpreter: `/opt/python` with the standard library's bytecode, and the launcher;
3. third-party packages: `/app` (a venv whose home is `/opt/python`) minus the project;
4. project: the project's own files and console scripts.

jib's rule: what changes least goes lowest, so the layers a rebuild reuses are the bottom
ones and a registry already has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError
from hatch_krust.layered.elf import is_elf, read_dynamic
from hatch_krust.layered.layers import BuiltLayer, LayerPlan, build_layer
from hatch_krust.layered.libraries import (
    DpkgDatabase,
    LibraryScan,
    SystemLibrary,
    find_system_libraries,
)
from hatch_krust.layered.packages import APP_PYTHON, split_environment, venv_skeleton
from hatch_krust.oci.layer import bytes_entry, file_entry
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.layered.interpreter import InterpreterSource
    from hatch_krust.layered.packages import Distribution

__all__ = ["LAUNCHER_PATH", "LayeredPlan", "build_layers", "entrypoint", "plan_layers"]

LAUNCHER_PATH = "/opt/krust/pid1.py"  # hatch_krust/pid1.py, the one PID-1 source


@dataclass(frozen=True)
class LayeredPlan:
    """The layer plans plus what the SBOM and the image config need to know."""

    layers: tuple[LayerPlan, ...]
    libraries: LibraryScan
    distributions: tuple[Distribution, ...]
    scripts: dict[str, str]  # console script -> image path
    python_version: str
    interpreter: SystemLibrary  # the binary, with its Debian package when dpkg knows it


def plan_layers(
    interpreter: InterpreterSource, venv: Path, project: str, work: Path
) -> LayeredPlan:
    """Plan the layers for the project `project` installed in `venv` (its wheel and deps).

    `work` receives patched copies of interpreter files; keep it until the layers are built.
    """
    info = interpreter.info
    launcher = (resources.files("hatch_krust") / "pid1.py").read_bytes()
    interp_entries = [*interpreter.entries(work), bytes_entry(LAUNCHER_PATH, launcher, 0o644)]
    env = split_environment(venv, project)
    third = [*venv_skeleton(info.image_executable, info.version), *env.third_party]
    elves: list[tuple[str, Path]] = [
        (e.path, e.source)
        for e in (*interp_entries, *env.third_party, *env.project)
        if e.source is not None and is_elf(e.source)
    ]
    scan = find_system_libraries(elves, machine=_machine_of(elves))
    if scan.missing:
        message = (
            "Libraries the image needs are not on this host's library path: "
            f"{'; '.join(scan.missing)}. Install the packages that provide them on the "
            "build host (the interpreter or the wheel was built against them)."
        )
        raise ImageError(message)
    libraries = [file_entry(lib.image_path, lib.source.resolve(), 0o755) for lib in scan.libraries]
    python, version, site = interpreter.compiler, info.version, (env.site_packages,)
    plans = (
        LayerPlan("system libraries", tuple(libraries)),
        LayerPlan(
            "interpreter", tuple(interp_entries), interpreter.bytecode_dirs(), python, version
        ),
        LayerPlan("third-party packages", tuple(third), site, python, version),
        LayerPlan("project", env.project, site, python, version),
    )
    origin = DpkgDatabase().library(info.image_executable, info.executable)
    return LayeredPlan(plans, scan, env.distributions, env.scripts, info.version, origin)


def build_layers(
    plan: LayeredPlan, cache: Path, *, epoch: int = 0, media_type: str = OCI_LAYER_GZIP
) -> tuple[BuiltLayer, ...]:
    """Build (or take from `cache`) every layer of `plan`, bottom first."""
    return tuple(build_layer(p, cache, epoch=epoch, media_type=media_type) for p in plan.layers)


def entrypoint(plan: LayeredPlan, script: str) -> tuple[str, ...]:
    """The image's Entrypoint for running console script `script` through the launcher."""
    if script not in plan.scripts:
        known = ", ".join(sorted(plan.scripts)) or "none"
        message = f"The environment has no console script `{script}` (it has: {known})."
        raise ImageError(message)
    return (APP_PYTHON, LAUNCHER_PATH, plan.scripts[script])


def _machine_of(elves: list[tuple[str, Path]]) -> str:
    return read_dynamic(elves[0][1]).machine if elves else "EM_X86_64"
