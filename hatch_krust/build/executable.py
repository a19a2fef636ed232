"""The executable: a project's wheel frozen into one static file, or reused from the cache.

`build_executable` is the first step of every build (`hatch_krust.build.flow` calls it
for the `binary` and `image` versions, the wheel hook through the image). Each step is a
function with plain inputs and outputs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hatch_krust.__about__ import __version__
from hatch_krust.build.cache import ExecutableCache, cache_key, default_cache_dir
from hatch_krust.build.wheel import INNER_WHEEL_ENV, build_wheel, project_wheel
from hatch_krust.errors import ConfigError, KrustError
from hatch_krust.freeze.dependencies import declared_requirements, resolve_requirements
from hatch_krust.freeze.extras import chosen_extras, with_extras
from hatch_krust.oci.platform import Platform

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.config import KrustConfig
    from hatch_krust.freeze import Freezer, FreezeRequest
    from hatch_krust.freeze.interpreter import Interpreter

__all__ = [
    "BinaryResult",
    "ExecutableInputs",
    "Reporter",
    "build_executable",
    "build_wheel",
    "check_host",
    "executable_name",
    "install_atomically",
    "is_inner_wheel_build",
    "resolve_script",
    "source_date_epoch",
    "wheel_fingerprint",
]



class Reporter(Protocol):
    """The part of hatchling's `app` we use; messages go to stderr."""

    @property
    def verbosity(self) -> int: ...
    def display_info(self, message: str = "", **kwargs: Any) -> None: ...
    def display_waiting(self, message: str = "", **kwargs: Any) -> None: ...
    def display_success(self, message: str = "", **kwargs: Any) -> None: ...
    def display_debug(self, message: str = "", level: int = 1, **kwargs: Any) -> None: ...


def check_host() -> None:
    """The freezer makes executables for the machine it runs on; that must be Linux."""
    if not sys.platform.startswith("linux"):
        message = (
            f"hatch-krust builds static Linux executables and must run on Linux, but this host "
            f"is {sys.platform!r}. Build inside a Linux container or on a Linux CI runner."
        )
        raise KrustError(message)


def source_date_epoch(reproducible: bool, env: Mapping[str, str]) -> int | None:
    """Hatch's rule: `reproducible` (default on) uses SOURCE_DATE_EPOCH or 1580601600."""
    if not reproducible:
        return None
    raw = env.get("SOURCE_DATE_EPOCH", "1580601600")
    try:
        value = int(raw)
    except ValueError:
        message = f"Environment variable `SOURCE_DATE_EPOCH` must be an integer, not {raw!r}"
        raise ConfigError(message) from None
    if value < 0:
        message = "Environment variable `SOURCE_DATE_EPOCH` must not be negative"
        raise ConfigError(message)
    return value


def resolve_script(
    scripts: Mapping[str, str],
    project_name: str,
    configured: str | None,
    where: str = "Field `tool.hatch.build.targets.krust.script`",
) -> tuple[str, str]:
    """Pick the `[project.scripts]` entry to freeze: (name, "module:attr").

    `where` names where `configured` came from (`KrustConfig.origin("script")`).
    """
    listing = ", ".join(f"`{name}`" for name in sorted(scripts)) or "none"
    if configured is not None:
        if configured not in scripts:
            message = (
                f"{where} names `{configured}`, which is not "
                f"in `[project.scripts]`. Available scripts: {listing}."
            )
            raise ConfigError(message)
        return configured, scripts[configured]
    if not scripts:
        message = (
            "The project has no `[project.scripts]` entry, so there is nothing to turn into an "
            "executable (`[project.gui-scripts]` and other entry points are not used). Add one, "
            'for example `[project.scripts]\nmy-app = "my_app.cli:main"`.'
        )
        raise ConfigError(message)
    if len(scripts) == 1:
        name = next(iter(scripts))
        return name, scripts[name]
    normalized = project_name.replace("_", "-").lower()
    for name, target in scripts.items():
        if name.replace("_", "-").lower() == normalized:
            return name, target
    message = (
        f"The project has several scripts ({listing}) and none is named like the project; "
        'choose one with `script = "NAME"` in `[tool.hatch.build.targets.krust]` '
        "or the environment variable `KRUST_SCRIPT`."
    )
    raise ConfigError(message)


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
    """A change to how we freeze (our own freeze/ code) must not reuse old executables."""
    from hatch_krust import freeze as freezing

    digest = hashlib.sha256()
    package = Path(freezing.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class BinaryResult:
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


@dataclass(frozen=True)
class ExecutableInputs:
    """Plain values that decide the executable; the cache key is made from them."""

    root: Path
    dist_name: str
    version: str
    scripts: Mapping[str, str]
    config: KrustConfig
    epoch: int | None
    out_dir: Path
    wheel: Path | None = None  # a wheel already built (the wheel hook); else one is built

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the configuration was read from (cache directory, ...)."""
        return self.config.environ


def build_executable(inputs: ExecutableInputs, reporter: Reporter) -> BinaryResult:
    """Wheel -> (cache or freeze) -> `out_dir/<script>-<version>-linux-<arch>`, atomically."""
    from hatch_krust import freeze as freezing
    from hatch_krust.build.programs import choose_program

    check_host()
    config = inputs.config
    interpreter = freezing.probe_interpreter(config.python)
    freezer = freezing.find_freezer(config.freezer)
    arch = Platform.host().architecture
    with tempfile.TemporaryDirectory(prefix="hatch-krust-") as tmp:
        work = Path(tmp)
        wheel = inputs.wheel or project_wheel(inputs, work / "wheel", reporter.display_waiting)
        script, entry_point = choose_program(
            inputs.scripts, inputs.dist_name, config, wheel, static=True
        )
        chosen = (script, *chosen_extras(config.extras, script, entry_point, wheel, inputs.env))
        fingerprint = wheel_fingerprint(wheel)
        wheel_file_sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        key = _cache_key(inputs, (wheel, fingerprint), chosen, interpreter, freezer, reporter)
        cache = ExecutableCache(default_cache_dir(inputs.env))
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
        target = inputs.out_dir / executable_name(script, inputs.version, arch)
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
    inputs: ExecutableInputs,
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
    inputs: ExecutableInputs,
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


def install_atomically(source: Path, target: Path, mode: int = 0o755) -> None:
    """Copy to a temporary name in the target's directory, then rename over the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        tmp.chmod(mode)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_inner_wheel_build(env: Mapping[str, str]) -> bool:
    return env.get(INNER_WHEEL_ENV) == "1"
