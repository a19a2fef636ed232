"""The inputs of every build, and the checks on them that both formats make.

`BuildInputs` holds plain values only: the entry points (the Hatch builder, the wheel
hook, `hatch-krust resolve`'s child) make it from the project and the configuration, and
nothing below them reads the process's environment.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import ConfigError, KrustError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.config import KrustConfig

__all__ = [
    "BuildInputs",
    "blob_record_file",
    "check_host",
    "default_cache_dir",
    "resolve_script",
    "source_date_epoch",
]


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


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """`KRUST_CACHE_DIR`, else `$XDG_CACHE_HOME/hatch-krust`, else `~/.cache/hatch-krust`,
    `~` being `HOME` of `env` or the user's entry in the password database."""
    if env.get("KRUST_CACHE_DIR"):
        return Path(env["KRUST_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "hatch-krust"
    home = env.get("HOME") or _password_home()
    if not home:
        message = (
            "No cache directory: neither KRUST_CACHE_DIR, XDG_CACHE_HOME nor HOME is set and "
            "this user has no home directory; set KRUST_CACHE_DIR to a writable directory"
        )
        raise ConfigError(message)
    return Path(home) / ".cache" / "hatch-krust"


def _password_home() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # a uid with no entry, as in an empty root
        return ""


def blob_record_file(cache_root: Path) -> Path:
    """Where pushes and pulls record which registry repositories hold which blobs, so a
    later push mounts them (`registry.api.Options.blob_record`); safe to delete."""
    return cache_root / "registry" / "blob-locations.json"


@dataclass(frozen=True)
class BuildInputs:
    """What every build starts from, in either format: the project, its configuration,
    the epoch and where the outputs go. (What only the static executable needs, the
    interpreter, the freezer and its cache key, `formats.executable` works out.)"""

    root: Path
    dist_name: str
    version: str
    scripts: Mapping[str, str]
    config: KrustConfig
    epoch: int | None
    out_dir: Path
    wheel: Path | None = None  # a wheel already built (the wheel hook); else one is built
    # this process's own environment, given by the entry point: a wheel built in this
    # process sees it (python.wheel_build), so one that agrees with `env` stays here
    process_env: Mapping[str, str] | None = None

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the configuration was read from (cache directory, ...)."""
        return self.config.environ

    @property
    def cache_dir(self) -> Path:
        """Where every cache of the build lives (bases, executables, layers)."""
        return default_cache_dir(self.config.environ)
