"""The static format's executable: a project's wheel frozen into one static file, or
reused from the cache.

`build_executable` makes the `binary` version (through `hatch_krust.flow.build_binary`)
and the static image's program (`hatch_krust.formats.static`). Each step is a function
with plain inputs and outputs.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.__about__ import __version__
from hatch_krust.atomic import install_atomically
from hatch_krust.formats.cache import ExecutableCache, cache_key
from hatch_krust.inputs import check_host
from hatch_krust.oci.platform import Platform
from hatch_krust.python.dependencies import declared_requirements, resolve_requirements
from hatch_krust.python.extras import chosen_extras, with_extras
from hatch_krust.python.wheel_build import (
    INNER_WHEEL_ENV,
    build_wheel,
    given_wheel,
    inner_build_running,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hatch_krust.freeze import Freezer, FreezeRequest
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.progress import Reporter
    from hatch_krust.python.interpreter import Interpreter

__all__ = [
    "BinaryResult",
    "build_executable",
    "executable_name",
    "is_inner_wheel_build",
    "project_wheel",
    "wheel_fingerprint",
]


def executable_name(script: str, version: str, architecture: str) -> str:
    return f"{script}-{version}-linux-{architecture}"


def wheel_fingerprint(wheel: Path) -> str:
    """SHA-256 over the wheel's member names and contents, not its zip timestamps."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            digest.update(info.filename.encode() + b"\0")
            digest.update(hashlib.sha256(archive.read(info)).digest())
    return digest.hexdigest()


def freezer_code_digest() -> str:
    """A change to how we freeze (our own freeze/ code, and the Python toolkit it installs
    and reads the environment with) must not reuse old executables."""
    import hatch_krust.python
    from hatch_krust import freeze as freezing

    digest = hashlib.sha256()
    for module in (freezing, hatch_krust.python):
        package = Path(str(module.__file__)).parent
        for path in sorted(package.rglob("*.py")):
            name = f"{package.name}/{path.relative_to(package).as_posix()}"
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class BinaryResult:
    """The executable at `path`, whether the cache served it, and what the freeze (or
    the cache entry) says of it: the tools, the distributions and the bundle."""

    path: Path
    cached: bool
    script: str
    tools: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)
    wheel_sha256: str = ""
    # What is inside the executable (FreezeResult.bundle), from the freeze or the cache
    bundle: dict[str, Any] = field(default_factory=dict)
    wheel_name: str = ""  # the wheel file the executable was made from, and its sha256
    wheel_file_sha256: str = ""


def build_executable(inputs: BuildInputs, reporter: Reporter, out_dir: Path) -> BinaryResult:
    """Wheel -> (cache or freeze) -> `out_dir/<script>-<version>-linux-<arch>`, atomically."""
    from hatch_krust import freeze as freezing
    from hatch_krust.formats.programs import choose_program

    check_host()
    config = inputs.config
    interpreter = freezing.probe_interpreter(config.python, inputs.env)
    freezer = freezing.find_freezer(config.freezer)
    arch = Platform.host().architecture
    with tempfile.TemporaryDirectory(prefix="hatch-krust-") as tmp:
        work = Path(tmp)
        wheel = inputs.wheel or project_wheel(inputs, work / "wheel", reporter.display_waiting)
        script, entry_point = choose_program(
            inputs.scripts, inputs.dist_name, config, wheel, static=True
        )
        extras = chosen_extras(config.extras, config.origin("extras"), script, entry_point, wheel)
        chosen = (script, *extras)
        fingerprint = wheel_fingerprint(wheel)
        wheel_file_sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        key = _cache_key(inputs, (wheel, fingerprint), chosen, interpreter, freezer, reporter)
        cache = ExecutableCache(inputs.cache_dir)
        with cache.lock(key):
            entry, problem = cache.lookup(key) if config.cache else (None, "")
            if problem:
                reporter.display_info(f"Warning: {problem}")
            if entry is not None:
                reporter.display_info(
                    f"Reusing the cached executable (inputs unchanged, key {key[:12]})"
                )
                source, meta, cached = entry.executable, entry.meta, True
            else:
                request = _freeze_request(inputs, wheel, chosen, interpreter, work, reporter)
                store = cache if config.cache else None
                source, meta = _freeze(request, freezer, store, key, fingerprint)
                cached = False
        target = out_dir / executable_name(script, inputs.version, arch)
        install_atomically(source, target)
    return BinaryResult(
        path=target,
        cached=cached,
        script=script,
        tools=dict(meta.get("tools", {})),
        distributions=dict(meta.get("distributions", {})),
        wheel_sha256=fingerprint,
        bundle=dict(meta.get("bundle", {})),
        wheel_name=wheel.name,
        wheel_file_sha256=wheel_file_sha256,
    )


def _cache_key(
    inputs: BuildInputs,
    wheel: tuple[Path, str],
    entry: tuple[str, str, tuple[str, ...]],
    interpreter: Interpreter,
    freezer: type[Freezer],
    reporter: Reporter,
) -> str:
    """Every input that changes the executable (the resolved dependencies when known).

    `wheel` is the wheel and its fingerprint; `entry` the script, its entry point (without
    extras) and the project's extras to install.
    """
    config = inputs.config
    resolved = resolve_requirements(
        with_extras(declared_requirements(wheel[0]), entry[2]),
        freezer.pins,
        str(interpreter.executable),
        inputs.env,
    )
    if resolved is None:
        reporter.display_info(
            "Could not resolve the dependencies now (offline?); the cache is keyed on the "
            "declared requirements"
        )
    return cache_key(
        {
            "hatch-krust": __version__,
            "wheel": wheel[1],
            "resolved": resolved,
            "script": [entry[0], entry[1], list(entry[2])],
            "interpreter": interpreter.identity(),
            "freezer": [config.freezer, dict(freezer.pins), freezer_code_digest()],
            "options": config.freeze_options(),
            "epoch": inputs.epoch,
            "architecture": Platform.host().architecture,
        }
    )


def _freeze_request(
    inputs: BuildInputs,
    wheel: Path,
    entry: tuple[str, str, tuple[str, ...]],
    interpreter: Interpreter,
    work: Path,
    reporter: Reporter,
) -> FreezeRequest:
    from hatch_krust import freeze as freezing

    config = inputs.config
    (work / "freeze").mkdir()
    return freezing.FreezeRequest(
        wheel=wheel,
        dist_name=inputs.dist_name,
        version=inputs.version,
        script=entry[0],
        entry_point=entry[1],
        python=str(interpreter.executable),
        interpreter=interpreter,
        work_dir=work / "freeze",
        environ=inputs.env,
        compress=config.compress,
        hidden_imports=config.hidden_imports,
        exclude_modules=config.exclude_modules,
        freezer_args=config.pyinstaller_args,
        extras=entry[2],
        exclude_entry_point_groups=config.exclude_entry_point_groups,
        collect=config.collect,
        import_check=config.import_check,
        source_date_epoch=inputs.epoch,
        verbose=reporter.verbosity > 0,
        log=reporter.display_waiting,
    )


def _freeze(
    request: FreezeRequest,
    freezer: type[Freezer],
    cache: ExecutableCache | None,
    key: str,
    fingerprint: str,
) -> tuple[Path, dict[str, Any]]:
    """Freeze with the configured freezer; store the result when the cache is on."""
    from hatch_krust import freeze as freezing

    result = freezing.freeze(request, freezer)
    meta = {
        "tools": result.tools,
        "distributions": result.distributions,
        "bundle": result.bundle,
        "wheel": fingerprint,
        "key": key,
    }
    entry = cache.put(key, result.executable, meta) if cache is not None else None
    return (entry.executable if entry else result.executable), meta


def is_inner_wheel_build(env: Mapping[str, str]) -> bool:
    return env.get(INNER_WHEEL_ENV) == "1" or inner_build_running()


def project_wheel(
    inputs: BuildInputs, directory: Path, log: Callable[[str], None] | None = None
) -> Path:
    """The wheel to build from for `inputs`: the `wheel` option's, or built with the build's
    environment."""
    if inputs.config.wheel:
        return given_wheel(inputs.root, inputs.config.wheel, inputs.dist_name, inputs.version)
    return build_wheel(inputs.root, directory, inputs.env, log, process_env=inputs.process_env)
