"""The layered format: the freeze environment's venv (the wheel and its dependencies,
installed as for the freeze but without the freezer) laid out by `hatch_krust.layered` in
four layers, each cached under the cache directory by its own inputs (see docs/layered.md).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ImageError
from hatch_krust.formats.base import Bundle, Packaged, Program
from hatch_krust.inputs import check_host
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP

if TYPE_CHECKING:
    from hatch_krust.config import KrustConfig
    from hatch_krust.formats.base import BaseSource
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.layered import BuiltLayer, LayeredPlan
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout
    from hatch_krust.oci.platform import Platform
    from hatch_krust.progress import Reporter

__all__ = ["LayeredFormat", "check_program", "layered_bundle"]


class LayeredFormat:
    """The program unpacked in layers (see docs/layered.md)."""

    name = "layered"

    def first_platform(self, config: KrustConfig) -> Platform:
        from hatch_krust.formats.on_base import check_layered_platforms

        return check_layered_platforms(config)

    def package(
        self, inputs: BuildInputs, reporter: Reporter, work: Path, bases: BaseSource
    ) -> Packaged:
        from hatch_krust.formats.on_base import package_on_base
        from hatch_krust.layered import assemble_layered, build_layers, entrypoint
        from hatch_krust.layered.shadows import shadowed_files

        check_host()
        on_base = package_on_base(inputs, reporter, work, bases)
        if on_base is not None:  # the base's own Python, for every platform (issue 18)
            return on_base
        # else this machine's interpreter, bundled (`python = "bundled"`, or no Python base)
        config = inputs.config
        cache = inputs.cache_dir / "layered" if config.cache else None
        wheel, plan, script = _plan(inputs, cache, reporter, work)
        for shadow in shadowed_files(plan.layers):
            reporter.display_info(f"Warning: {shadow}")
        reporter.display_waiting("Building the layers")
        layers_dir = cache if cache is not None else work / "layers"
        built = build_layers(plan, layers_dir, epoch=inputs.epoch or 0, media_type=_LAYER_TYPE)
        _report(built, reporter)
        command = entrypoint(plan, script)
        program_path = plan.scripts[script]
        content = _script_bytes(plan, program_path)

        def warn(message: str) -> None:
            reporter.display_info(f"Warning: {message}")

        def put(base: BaseImage | None, options: ImageOptions, layout: Layout) -> Descriptor:
            return assemble_layered(base, built, options, layout, entrypoint=command, warn=warn)

        program = Program(
            kind="Console script (layered image)",
            path=program_path,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
        )
        return Packaged(
            format=self.name,
            script=script,
            program=program,
            installs=(),
            bundle=layered_bundle(plan),
            tools={"format": "layered"},
            wheel_name=wheel.name,
            wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
            assemble=put,
            layers=tuple((b.name, b.layer.diff_id) for b in built),
        )


# The cached layers are gzip tars; `assemble_layered` gives them the base's media type.
_LAYER_TYPE = OCI_LAYER_GZIP


def _plan(
    inputs: BuildInputs, cache: Path | None, reporter: Reporter, work: Path
) -> tuple[Path, LayeredPlan, str]:
    """The wheel, installed with its dependencies into a venv, planned as layers, and the
    program the image runs (a console script or a native program of the wheel); `cache`
    the layered cache (None: off)."""
    from hatch_krust.formats.executable import project_wheel
    from hatch_krust.formats.programs import choose_program
    from hatch_krust.layered import host_interpreter, plan_layers
    from hatch_krust.python import create_environment, probe_interpreter
    from hatch_krust.python.extras import chosen_extras, wheel_requirement

    config = inputs.config
    # `base`/`bundled` (no Python on the base): this machine's, the one running the build
    python = sys.executable if config.python in ("base", "bundled") else config.python
    interpreter = probe_interpreter(python, inputs.env)  # before the wheel is built
    wheel = inputs.wheel or project_wheel(inputs, work / "wheel", reporter.display_waiting)
    script, entry = choose_program(
        inputs.scripts, inputs.dist_name, config, wheel, static=False, say=reporter.display_info
    )
    _point, extras = chosen_extras(config.extras, config.origin("extras"), script, entry, wheel)
    reporter.display_waiting("Installing the project and its dependencies")
    requirement = wheel_requirement(wheel, inputs.dist_name, extras)
    env = create_environment(interpreter, work / "env", [requirement], env=inputs.env)
    reporter.display_waiting("Planning the layers")
    files = cache / "files" if cache is not None else work / "files"
    plan = plan_layers(host_interpreter(interpreter), env.root, inputs.dist_name, files)
    check_program(inputs, plan, script)
    return wheel, plan, script


def check_program(inputs: BuildInputs, plan: LayeredPlan, script: str) -> None:
    """`script` is a console script of the project or a native program of the installed
    environment (`formats.programs.installed_program`)."""
    from hatch_krust.formats.programs import installed_program

    heads = {name: _file_bytes(plan, path, 4) for name, path in plan.scripts.items()}
    installed_program(script, inputs.scripts, heads, inputs.config.origin("script"))


def _report(built: tuple[BuiltLayer, ...], reporter: Reporter) -> None:
    for layer in built:
        how = "from the cache" if layer.cached else "built"
        size = layer.layer.size / 1e6
        reporter.display_info(f"Layer {layer.name}: {layer.layer.digest[:19]} {size:.2f} MB, {how}")


def _script_bytes(plan: LayeredPlan, path: str) -> bytes:
    """The console script's content as the image holds it (the top layer that has it)."""
    return _file_bytes(plan, path, -1)


def _file_bytes(plan: LayeredPlan, path: str, size: int) -> bytes:
    """The first `size` bytes (-1: all) of the file at image path `path` (the top layer's)."""
    for layer in reversed(plan.layers):
        for entry in layer.entries:
            if entry.path == path and entry.data is not None:
                return entry.data if size < 0 else entry.data[:size]
            if entry.path == path and entry.source is not None:
                with entry.source.open("rb") as stream:
                    return stream.read(size)
    message = f"The layered image has no file {path} for its console script"
    raise ImageError(message)


def layered_bundle(plan: LayeredPlan) -> Bundle:
    """What a layered image holds: the distributions (each with its own dist-info in the
    venv, where scanners find it), the interpreter and the system libraries with their
    Debian packages."""
    python: dict[str, Any] = {"name": "CPython", "version": plan.python_version}
    origin: dict[str, Any] = {"prefix": "/opt/python"}
    if plan.interpreter.package:
        origin["debian"] = _debian(plan.interpreter.package, plan.interpreter.version)
    python["origin"] = origin
    native = []
    for library in plan.libraries.libraries:
        entry: dict[str, Any] = {
            "name": Path(library.image_path).name,
            "path": library.image_path,
            "sha256": sha256_file(library.source.resolve()).removeprefix("sha256:"),
            "bundled_by": "layered",
        }
        if library.package and library.version:
            entry["debian"] = _debian(library.package, library.version)
        native.append(entry)
    distributions: list[dict[str, Any]] = [
        {"name": d.name, "version": d.version, "files": []} for d in plan.distributions
    ]
    facts = {
        "distributions": sorted(distributions, key=lambda d: d["name"].lower()),
        "python": python,
        "native": sorted(native, key=lambda n: n["name"]),
    }
    return Bundle.of(facts, packed=False)


def _debian(package: str, version: str) -> dict[str, str]:
    name, _, architecture = package.partition(":")
    return {"package": name, "version": version, "architecture": architecture, "source": ""}

