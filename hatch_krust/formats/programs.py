"""Which program the image runs: a console script, or a native program the wheel ships.

Linters and package managers written in Rust or Go (ruff, uv, …) put their program as a
native executable in the wheel's `.data/scripts`, with at most a Python wrapper that finds
it. The layered image holds that file in `/app/bin` and can run it (through the PID-1
launcher, as console scripts are); the static format freezes Python and cannot run another
program from inside its one file, so it refuses with a message that points to `layered`.

In the layered format `script` may also name a native program a dependency's wheel ships
(a project that depends on ruff, built for every platform of a Python base: each
platform's environment gets that platform's ruff). Which programs the dependencies ship
is known only once they are installed: `installed_program` checks the name then.
"""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from hatch_krust.errors import ConfigError
from hatch_krust.inputs import resolve_script

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from hatch_krust.config import KrustConfig

__all__ = ["ELF_MAGIC", "choose_program", "installed_program", "native_programs"]

ELF_MAGIC = b"\x7fELF"


def native_programs(wheel: Path) -> tuple[str, ...]:
    """Names of the native (ELF) executables in the wheel's `<name>.data/scripts/`."""
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if len(parts) != 3 or not parts[0].endswith(".data") or parts[1] != "scripts":
                continue
            with archive.open(info) as stream:
                if stream.read(4) == ELF_MAGIC:
                    found.append(parts[2])
    return tuple(sorted(found))


def choose_program(
    scripts: Mapping[str, str],
    project_name: str,
    config: KrustConfig,
    wheel: Path,
    *,
    static: bool,
    say: Callable[[str], object] | None = None,
) -> tuple[str, str]:
    """(name, entry point) to run; the entry point is "" for a native program, which only
    a layered image (`static` False) can run. There, a name that is neither a console
    script nor a native program of the project's wheel is left to `installed_program`,
    after the install, and `say` tells the user so now: a typo is only refused then."""
    configured = config.script
    native = native_programs(wheel)
    listed = ", ".join(f"`{n}`" for n in native)
    if configured is not None and configured not in scripts and configured in native:
        if static:
            message = (
                f"{config.origin('script')} names `{configured}`, a native program in the "
                "wheel's .data/scripts, not a Python entry point: the static format freezes "
                "Python and cannot run another program from inside its one file. Use the "
                'layered format: `format = "layered"` (environment variable '
                "`KRUST_FORMAT=layered`)."
            )
            raise ConfigError(message)
        return configured, ""
    if configured is not None and configured not in scripts and not static:
        if say is not None:
            say(
                f"{config.origin('script')} names `{configured}`, which is not one of the "
                "project's console scripts nor a program of its wheel: looking for it among "
                "the programs its dependencies install"
            )
        return configured, ""  # a dependency's native program, or nothing: checked later
    if not scripts and native and configured is None:
        layered = ' with `format = "layered"`' if static else ""
        message = (
            "The project has no `[project.scripts]` entry, but its wheel ships the native "
            f'program {listed} in .data/scripts. Select it with `script = "{native[0]}"` '
            f"(environment variable `KRUST_SCRIPT={native[0]}`){layered}; the static format "
            "cannot run a native program."
        )
        raise ConfigError(message)
    return resolve_script(scripts, project_name, configured, config.origin("script"))


def installed_program(
    script: str, scripts: Mapping[str, str], installed: Mapping[str, bytes], where: str
) -> None:
    """In the layered format, after the install: `script`, when it is not one of the
    project's console scripts, must be a native program of the environment's `bin/`
    (`installed`: each program's name and first bytes); `where` names the option."""
    if script in scripts or installed.get(script, b"")[:4] == ELF_MAGIC:
        return
    listing = ", ".join(f"`{name}`" for name in sorted(scripts)) or "none"
    native = sorted(n for n, head in installed.items() if head[:4] == ELF_MAGIC)
    programs = ", ".join(f"`{name}`" for name in native) or "none"
    message = (
        f"{where} names `{script}`, which is not in `[project.scripts]` nor a native program "
        f"an installed wheel ships in .data/scripts. Available scripts: {listing}; native "
        f"programs: {programs}."
    )
    raise ConfigError(message)
