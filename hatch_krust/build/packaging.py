"""The image formats behind one seam: how a project's program goes onto the base.

`packager_for(config)` picks the `Packager` for the `format` option. Each one turns the
build's inputs into a `Packaged`: the facts the SBOM, the provenance and the record need,
and an `assemble` step that writes the image on a base. `build/image.py` knows nothing
else about formats.

- `static`: the frozen executable (`build_executable`) in one layer at `/app/<script>`,
  with a layer of package metadata for scanners below it;
- `layered`: the freeze environment's venv (the wheel and its dependencies, installed as
  for the freeze but without the freezer) laid out by `hatch_krust.layered` in four
  layers, each cached under the cache directory by its own inputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hatch_krust.attest.scanner_files import dpkg_status_files, scanner_files
from hatch_krust.build.cache import default_cache_dir
from hatch_krust.build.executable import build_executable, check_host
from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import APP_DIR, assemble
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP

if TYPE_CHECKING:
    from collections.abc import Callable

    from hatch_krust.build.executable import ExecutableInputs, Reporter
    from hatch_krust.config import KrustConfig
    from hatch_krust.layered import BuiltLayer, LayeredPlan
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout

__all__ = [
    "LayeredFormat",
    "Packaged",
    "Packager",
    "StaticFormat",
    "layered_bundle",
    "packager_for",
]

@dataclass(frozen=True)
class Packaged:
    """A project's program ready to go on a base, and the facts the documents need.

    `program_path` is the file in the image the SBOM and provenance name and
    `hatch-krust verify` hashes (the static executable, or the layered image's console
    script); `executable` the static executable copied to `dist/krust/` (None: layered);
    `bundle` what is inside (FreezeResult.bundle's shape); `layers` ((name, diff_id) of
    the format's own layers, bottom first: the layered format's; empty for static).
    """

    format: str
    script: str
    executable: Path | None
    program_path: str
    program_sha256: str  # hex
    program_size: int
    bundle: dict[str, Any]
    tools: dict[str, str]
    wheel_name: str
    wheel_sha256: str  # hex, of the wheel file
    metadata_files: tuple[tuple[str, bytes], ...]
    assemble: Callable[[BaseImage | None, ImageOptions, Layout], Descriptor]
    layers: tuple[tuple[str, str], ...] = field(default=())


class Packager(Protocol):
    """One image format."""

    name: str

    def package(self, inputs: ExecutableInputs, reporter: Reporter, work: Path) -> Packaged:
        """Do the format's work (freeze, or lay out layers) under `work`."""
        ...


def packager_for(config: KrustConfig) -> Packager:
    """The packager of the `format` option (validated by the configuration)."""
    return LayeredFormat() if config.format == "layered" else StaticFormat()


class StaticFormat:
    """Today's image: the one frozen executable at `/app/<script>`."""

    name = "static"

    def package(self, inputs: ExecutableInputs, reporter: Reporter, work: Path) -> Packaged:
        binary = build_executable(replace(inputs, out_dir=work / "out"), reporter)
        path = binary.path

        def put(base: BaseImage | None, options: ImageOptions, layout: Layout) -> Descriptor:
            return assemble(base, path, options, layout)

        return Packaged(
            format=self.name,
            script=binary.script,
            executable=path,
            program_path=f"{APP_DIR}/{binary.script}",
            program_sha256=sha256_file(path).removeprefix("sha256:"),
            program_size=path.stat().st_size,
            bundle=binary.bundle,
            tools=binary.tools,
            wheel_name=binary.wheel_name,
            wheel_sha256=binary.wheel_file_sha256,
            metadata_files=tuple(scanner_files(binary.bundle)),
            assemble=put,
        )


class LayeredFormat:
    """The program unpacked in layers (see docs/layered.md)."""

    name = "layered"

    def package(self, inputs: ExecutableInputs, reporter: Reporter, work: Path) -> Packaged:
        from hatch_krust.layered import assemble_layered, build_layers, entrypoint
        from hatch_krust.layered.shadows import shadowed_files

        check_host()
        config = inputs.config
        wheel, plan, script = _plan(inputs, reporter, work)
        for shadow in shadowed_files(plan.layers):
            reporter.display_info(f"Warning: {shadow}")
        cache = default_cache_dir(inputs.env) / "layered" if config.cache else work / "layers"
        reporter.display_waiting("Building the layers")
        built = build_layers(plan, cache, epoch=inputs.epoch or 0, media_type=_LAYER_TYPE)
        _report(built, reporter)
        command = entrypoint(plan, script)
        program_path = plan.scripts[script]
        program = _script_bytes(plan, program_path)
        bundle = layered_bundle(plan)

        def warn(message: str) -> None:
            reporter.display_info(f"Warning: {message}")

        def put(base: BaseImage | None, options: ImageOptions, layout: Layout) -> Descriptor:
            return assemble_layered(base, built, options, layout, entrypoint=command, warn=warn)

        return Packaged(
            format=self.name,
            script=script,
            executable=None,
            program_path=program_path,
            program_sha256=hashlib.sha256(program).hexdigest(),
            program_size=len(program),
            bundle=bundle,
            tools={"format": "layered"},
            wheel_name=wheel.name,
            wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
            metadata_files=tuple(dpkg_status_files(bundle)),
            assemble=put,
            layers=tuple((b.name, b.layer.diff_id) for b in built),
        )


# The cached layers are gzip tars; `assemble_layered` gives them the base's media type.
_LAYER_TYPE = OCI_LAYER_GZIP


def _plan(
    inputs: ExecutableInputs, reporter: Reporter, work: Path
) -> tuple[Path, LayeredPlan, str]:
    """The wheel, installed with its dependencies into a venv, planned as layers, and the
    program the image runs (a console script or a native program of the wheel)."""
    from hatch_krust.build.programs import choose_program
    from hatch_krust.build.wheel import project_wheel
    from hatch_krust.freeze.environment import create_environment
    from hatch_krust.freeze.extras import chosen_extras, wheel_requirement
    from hatch_krust.layered import host_interpreter, plan_layers

    config = inputs.config
    wheel = inputs.wheel or project_wheel(inputs, work / "wheel", reporter.display_waiting)
    script, entry = choose_program(inputs.scripts, inputs.dist_name, config, wheel, static=False)
    _point, extras = chosen_extras(config.extras, script, entry, wheel, inputs.env)
    reporter.display_waiting("Installing the project and its dependencies")
    requirement = wheel_requirement(wheel, inputs.dist_name, extras)
    env = create_environment(config.python, work / "env", [requirement], verbose=False)
    reporter.display_waiting("Planning the layers")
    files = default_cache_dir(inputs.env) / "layered" / "files" if config.cache else work / "files"
    plan = plan_layers(host_interpreter(config.python), env.root, inputs.dist_name, files)
    return wheel, plan, script


def _report(built: tuple[BuiltLayer, ...], reporter: Reporter) -> None:
    for layer in built:
        how = "from the cache" if layer.cached else "built"
        size = layer.layer.size / 1e6
        reporter.display_info(f"Layer {layer.name}: {layer.layer.digest[:19]} {size:.2f} MB, {how}")


def _script_bytes(plan: LayeredPlan, path: str) -> bytes:
    """The console script's content as the image holds it (the top layer that has it)."""
    for layer in reversed(plan.layers):
        for entry in layer.entries:
            if entry.path == path and entry.data is not None:
                return entry.data
            if entry.path == path and entry.source is not None:
                return entry.source.read_bytes()
    message = f"The layered image has no file {path} for its console script"
    raise ImageError(message)


def layered_bundle(plan: LayeredPlan) -> dict[str, Any]:
    """What a layered image holds, in the shape of FreezeResult.bundle: the distributions,
    the interpreter and the system libraries with their Debian packages."""
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
    distributions = [
        {"name": d.name, "version": d.version, "files": []} for d in plan.distributions
    ]
    return {
        "layout": "layered",
        "distributions": sorted(distributions, key=lambda d: d["name"].lower()),
        "python": python,
        "native": sorted(native, key=lambda n: n["name"]),
    }


def _debian(package: str, version: str) -> dict[str, str]:
    name, _, architecture = package.partition(":")
    return {"package": name, "version": version, "architecture": architecture, "source": ""}

