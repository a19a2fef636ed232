"""Extras: the ones the user asks for and the ones a script's entry point names.

An entry point may name extras (`serve = "app.server:main [web]"`, allowed by the
entry-points specification): the script needs them, so they are installed with the
project. Each name is checked against the wheel's `Provides-Extra`, because an installer
silently ignores an unknown extra and the executable would only fail when it runs.
"""

from __future__ import annotations

import re
import zipfile
from email.parser import Parser
from typing import TYPE_CHECKING

from hatch_krust.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "check_extras",
    "chosen_extras",
    "normalize_extra",
    "provided_extras",
    "split_entry_point",
    "wheel_metadata",
    "wheel_requirement",
    "with_extras",
]

_EXTRAS = re.compile(r"^(?P<target>[^\[]*?)\s*\[(?P<extras>[^\]]*)\]\s*$")


def normalize_extra(name: str) -> str:
    """PEP 685: extras compare like distribution names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_entry_point(value: str) -> tuple[str, tuple[str, ...]]:
    """`module:attr [a, b]` -> (`module:attr`, ("a", "b")); no brackets -> no extras."""
    match = _EXTRAS.match(value.strip())
    if match is None:
        return value.strip(), ()
    extras = tuple(e.strip() for e in match.group("extras").split(",") if e.strip())
    return match.group("target").strip(), extras


def wheel_metadata(wheel: Path) -> dict[str, list[str]]:
    """The wheel's METADATA headers, each as the list of its values."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(
            n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        )
        message = Parser().parsestr(archive.read(name).decode("utf-8"))
    out: dict[str, list[str]] = {}
    for key, value in message.items():
        out.setdefault(key, []).append(str(value))
    return out


def provided_extras(wheel: Path) -> list[str]:
    """The extras the project defines (`Provides-Extra`), in order."""
    return wheel_metadata(wheel).get("Provides-Extra", [])


def check_extras(wanted: Iterable[tuple[str, str]], wheel: Path, project: str) -> tuple[str, ...]:
    """The requested extras, normalized and deduplicated; ConfigError for an unknown one.

    `wanted` pairs each extra with where it was asked for (an option or an entry point).
    """
    defined = {normalize_extra(e): e for e in provided_extras(wheel)}
    chosen: dict[str, None] = {}
    for extra, where in wanted:
        key = normalize_extra(extra)
        if key not in defined:
            listing = ", ".join(f"`{e}`" for e in defined.values()) or "none"
            message = (
                f"{where} asks for the extra `{extra}`, which the project `{project}` does not "
                f"define. Extras it defines ([project.optional-dependencies]): {listing}."
            )
            raise ConfigError(message)
        chosen[key] = None
    return tuple(sorted(chosen))


def wheel_requirement(wheel: Path, name: str, extras: tuple[str, ...]) -> str:
    """What the installer gets for the project: the wheel's path, or `name[extras] @ file://…`."""
    if not extras:
        return str(wheel)
    return f"{name}[{','.join(extras)}] @ {wheel.absolute().as_uri()}"


def with_extras(requirements: Iterable[str], extras: tuple[str, ...]) -> list[str]:
    """`Requires-Dist` lines as they apply with `extras` chosen, for a resolver that knows none.

    A requirement behind a chosen extra loses its marker (evaluated here, on this host:
    good enough for the cache key); one behind another extra is dropped.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    out: list[str] = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            out.append(line)
            continue
        marker = requirement.marker
        if marker is None or "extra" not in str(marker):
            out.append(line)
        elif any(marker.evaluate({"extra": extra}) for extra in extras):
            requirement.marker = None
            out.append(str(requirement))
    return out


def chosen_extras(
    configured: tuple[str, ...],
    where: str,
    script: str,
    entry_value: str,
    wheel: Path,
) -> tuple[str, tuple[str, ...]]:
    """(entry point without extras, the extras to install): the option's and the script's.

    `where` names where `configured` came from in an error ("Environment variable
    `KRUST_EXTRAS`", a TOML field): the caller knows its configuration, this module does not.
    """
    entry_point, named = split_entry_point(entry_value)
    wanted = [(extra, where) for extra in configured]
    wanted += [(extra, f"The entry point `{script} = {entry_value.strip()}`") for extra in named]
    project = (wheel_metadata(wheel).get("Name") or [wheel.name])[0]
    return entry_point, check_extras(wanted, wheel, project)
