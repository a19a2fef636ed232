"""How a virtual environment is created and filled: uv or pip, behind one protocol.

Modelled on pypa/build's `env.py`: the backend is chosen once (`choose_backend`) and the
environment code only calls `create` and `install`, so another installer is one more class
and no `if` in `hatch_krust.python.environment`. A backend runs its tool with the
environment it was chosen with (`env`), never the process's own.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Protocol

from hatch_krust.errors import FreezeError
from hatch_krust.python.process import ToolFailed, installer_env, run_tool, stage_failed

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["EnvironmentBackend", "PipBackend", "UvBackend", "choose_backend", "find_uv"]


class EnvironmentBackend(Protocol):
    """Creates a virtual environment and installs into it."""

    @property
    def name(self) -> str:
        """The installer's name in messages (`uv output attached`)."""
        ...

    def create(self, interpreter: Path, root: Path, *, verbose: bool = False) -> Path:
        """A new venv at `root` for `interpreter`; returns its python. FreezeError on failure."""
        ...

    def install(
        self, python: Path, args: Sequence[str], *, cwd: Path, verbose: bool = False
    ) -> None:
        """Install `args` (requirements and installer options) into the venv of `python`.

        Raises ToolFailed, whose output the caller reads to name the failing requirement.
        """
        ...


def _create(
    args: list[str], interpreter: Path, root: Path, env: Mapping[str, str], hint: str, verbose: bool
) -> Path:
    try:
        run_tool(args, env=installer_env(env), verbose=verbose, cwd=root.parent)
    except ToolFailed as exc:
        stage = f"Creating the freeze environment with {interpreter}"
        raise stage_failed(stage, exc, hint) from None
    return root / "bin" / "python"


class UvBackend:
    """`uv venv` and `uv pip install`: the fast path, uv being a dependency."""

    name = "uv"

    def __init__(self, uv: str, env: Mapping[str, str]) -> None:
        self.uv = uv
        self.env = env

    def create(self, interpreter: Path, root: Path, *, verbose: bool = False) -> Path:
        args = [self.uv, "venv", "--python", str(interpreter), str(root)]
        return _create(args, interpreter, root, self.env, "", verbose)

    def install(
        self, python: Path, args: Sequence[str], *, cwd: Path, verbose: bool = False
    ) -> None:
        command = [self.uv, "pip", "install", "--python", str(python), *args]
        run_tool(command, env=installer_env(self.env), verbose=verbose, cwd=cwd)


class PipBackend:
    """`python -m venv` and the venv's own pip: when no uv binary can be found."""

    name = "pip"

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def create(self, interpreter: Path, root: Path, *, verbose: bool = False) -> Path:
        args = [str(interpreter), "-m", "venv", str(root)]
        hint = "On Debian and Ubuntu, `apt-get install python3-venv` provides the venv module."
        return _create(args, interpreter, root, self.env, hint, verbose)

    def install(
        self, python: Path, args: Sequence[str], *, cwd: Path, verbose: bool = False
    ) -> None:
        command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args]
        run_tool(command, env=installer_env(self.env), verbose=verbose, cwd=cwd)


def find_uv(env: Mapping[str, str]) -> str | None:
    """The uv executable: the one from the `uv` package first, then `env`'s PATH."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv", path=env.get("PATH", os.defpath))


def choose_backend(env: Mapping[str, str], use_uv: bool | None = None) -> EnvironmentBackend:
    """uv when it can be found (`use_uv=None`), else pip; `use_uv` True or False insists.

    The backend runs its tools with `env` (cleaned by `installer_env`).
    """
    uv = find_uv(env) if use_uv is not False else None
    if use_uv and uv is None:
        raise FreezeError("uv was asked for but is not installed (pip install uv).")
    return UvBackend(uv, env) if uv else PipBackend(env)
