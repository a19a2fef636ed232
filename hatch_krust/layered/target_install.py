"""Install the project and its dependencies *for* a base's Python, never by running it.

uv resolves and installs wheels for another interpreter and machine from their tags alone
(`--python-platform`, `--python-version`, `--only-binary :all:`), so an arm64 image's
packages are installed on an amd64 machine in the time of a download: no emulation. The
result is laid out as a venv (`lib/pythonX.Y/site-packages`, `bin/`) for
`layered.packages.split_environment`. Bytecode is architecture-independent, so any Python
of the same minor version found here (uv's, pyenv's, or on PATH) compiles it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError
from hatch_krust.python import ToolFailed, find_uv, installer_env, run_tool, tail
from hatch_krust.python.environment import normalise_records

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hatch_krust.layered.base_python import BasePython

__all__ = ["find_compiler", "install_for"]

_NO_WHEEL = re.compile(
    r"(?:Because |and )(?:only )?([A-Za-z0-9][A-Za-z0-9._-]*)(?:[=<>!~][^\s]*)? has no "
    r"(?:wheels with a matching (?:platform|Python ABI|Python implementation) tag|"
    r"usable wheels)"
)


def install_for(
    python: BasePython,
    platform: str,
    requirements: Sequence[str],
    root: Path,
    env: Mapping[str, str],
) -> Path:
    """A venv-shaped directory at `root` holding `requirements` installed for `python`,
    uv running with the build's environment `env`.

    `platform` (`linux/arm64`) only words the error when a dependency has no wheel.
    """
    uv = find_uv(env)
    if uv is None:
        message = "Installing for the base image's Python needs uv: pip install uv"
        raise ImageError(message)
    site = root / "lib" / f"python{python.minor}" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    command = [
        uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(site),
        "--python-platform", python.uv_platform, "--python-version", python.minor,
        "--only-binary", ":all:", "--no-config", *requirements,
    ]  # fmt: skip
    try:
        run_tool(command, env=installer_env(env))
    except ToolFailed as exc:
        raise _install_error(exc.output, python, platform) from None
    _move_scripts(site, root / "bin")
    normalise_records(root)
    return root


def _install_error(output: str, python: BasePython, platform: str) -> ImageError:
    text = " ".join(output.split())
    match = _NO_WHEEL.search(text)
    where = f"{platform} (Python {python.minor}, {python.uv_platform.split('-', 1)[1]})"
    if match:
        message = (
            f"No wheel of `{match.group(1)}` for {where}: packages for another platform are "
            "installed from wheels only, never built. Ways out: an index that has that wheel "
            "(UV_INDEX), a version of it that ships one, or building this platform on a "
            "machine of its architecture (drop it from `platforms` here) and joining the "
            "images with `hatch-krust merge DST SRC...`"
        )
    else:
        message = f"Installing the project for {where} failed:\n{tail(output)}"
    return ImageError(message)


def _move_scripts(site: Path, bin_dir: Path) -> None:
    """uv's `--target` puts scripts in `site/bin`: move them where a venv has them and
    point their RECORD rows there."""
    scripts = site / "bin"
    if not scripts.is_dir():
        return
    bin_dir.mkdir(parents=True, exist_ok=True)
    for script in sorted(scripts.iterdir()):
        script.replace(bin_dir / script.name)
    scripts.rmdir()
    for record in site.glob("*.dist-info/RECORD"):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in csv.reader(io.StringIO(record.read_text("utf-8"))):
            moved = row and row[0].startswith("bin/")
            writer.writerow([f"../../../{row[0]}", *row[1:]] if moved else row)
        record.write_text(out.getvalue(), "utf-8")


def find_compiler(minor: str, env: Mapping[str, str]) -> Path | None:
    """A Python `minor` ("3.11") that runs here: uv's, pyenv's, then `env`'s PATH's; else
    None."""
    uv = find_uv(env)
    if uv is not None:
        try:
            found = run_tool(
                [uv, "python", "find", "--no-config", minor], env=installer_env(env)
            )
            path = Path(found.strip().splitlines()[-1])
            if path.is_file() and _minor_of(path, env) == minor:
                return path
        except (ToolFailed, IndexError):
            pass
    pyenv = env.get("PYENV_ROOT") or (f"{env['HOME']}/.pyenv" if env.get("HOME") else "")
    candidates = (
        sorted((Path(pyenv) / "versions").glob(f"{minor}.*/bin/python{minor}"), reverse=True)
        if pyenv
        else []
    )
    on_path = shutil.which(f"python{minor}", path=env.get("PATH", os.defpath))
    for candidate in [*candidates, *([Path(on_path)] if on_path else [])]:
        if _minor_of(candidate, env) == minor:
            return candidate
    return None


def _minor_of(python: Path, env: Mapping[str, str]) -> str:
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        return str(run_tool([str(python), "-I", "-c", code], env=installer_env(env))).strip()
    except (ToolFailed, OSError):
        return ""
