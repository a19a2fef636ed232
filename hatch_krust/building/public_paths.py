"""Paths as published: nothing of the build machine's file system in images or provenance.

A local base (`oci:/home/me/bases/debian:12`) and options such as `python` name files of
the machine that built. Published, they leak its layout and make two machines that build
the same thing from checkouts at different places disagree. So a path inside the project
is recorded relative to the project's root, and a path outside it by its last component
only (`oci:debian:12`, `python3.12`); the base itself is identified by its digest.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["ARGUMENT_OPTIONS", "PATH_OPTIONS", "public_location", "public_options", "public_path"]

# Options whose whole value is a path of the build machine (`base-image` is a location)
PATH_OPTIONS = ("python", "ca-certificates", "output-dir", "wheel")
# Options whose items may hold paths anywhere (`--add-data=/home/me/x:x`, `--icon /a/b.ico`)
ARGUMENT_OPTIONS = ("pyinstaller-args",)
# An absolute path in an argument: at its start or after `=`, `:`, `;` or `,`
_PATH_IN_ARGUMENT = re.compile(r"(?:^|(?<=[=:;,]))/[^:;,=]*")
_LAYOUT_TRANSPORTS = ("oci:", "oci-archive:")


def _absolute(path: str | Path) -> Path:
    """Absolute, `..` folded, symbolic links kept (the path as the user named it)."""
    return Path(os.path.normpath(Path.cwd() / path))


def public_path(path: str, root: Path) -> str:
    """`path` relative to `root` when inside it, else only its last component."""
    absolute = _absolute(path)
    try:
        relative = absolute.relative_to(_absolute(root))
    except ValueError:
        return absolute.name or "/"
    return PurePosixPath(relative).as_posix() if relative.parts else "."


def public_location(spec: str, root: Path) -> str:
    """`oci:DIR[:TAG]` / `oci-archive:FILE[:TAG]` with DIR as `public_path`; others as given."""
    for transport in _LAYOUT_TRANSPORTS:
        if spec.startswith(transport):
            path, sep, tag = spec.removeprefix(transport).partition(":")
            return f"{transport}{public_path(path, root)}{sep}{tag}"
    return spec


def public_options(options: dict[str, Any], root: Path) -> dict[str, Any]:
    """The build's options for the provenance, with every path made public (see above)."""
    out = {key: _within(value, root) for key, value in options.items()}
    for key in PATH_OPTIONS:
        if isinstance(options.get(key), str) and options[key]:
            out[key] = public_path(options[key], root)
    for key in ARGUMENT_OPTIONS:
        if isinstance(options.get(key), (list, tuple)):
            out[key] = [_paths_in(str(arg), root) for arg in options[key]]
    if isinstance(options.get("base-image"), str):
        out["base-image"] = public_location(options["base-image"], root)
    return out


def _paths_in(argument: str, root: Path) -> str:
    """`argument` with each absolute path in it made public (`public_path`)."""
    return _PATH_IN_ARGUMENT.sub(lambda m: public_path(m.group(), root), argument)


def _within(value: Any, root: Path) -> Any:
    """Strings (also in lists) with the project's absolute path made relative to it."""
    if isinstance(value, str):
        prefix = str(_absolute(root))
        if value == prefix:
            return "."
        return value.replace(prefix + "/", "")
    if isinstance(value, (list, tuple)):
        return [_within(v, root) for v in value]
    return value
