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
_NO_SDIST = re.compile(
    r"(?:Because |and )(?:only )?([A-Za-z0-9][A-Za-z0-9._-]*)(?:[=<>!~][^\s]*)? has no "
    r"source distribution"
)
_BUILD_FAILED = re.compile(r"Failed to (?:download and )?build `([A-Za-z0-9][A-Za-z0-9._-]*)")
_COMPILED = ", and its source distribution builds a compiled extension (for this machine)"
_NO_BUILD = ", and its source distribution does not build here"
_MAX_SOURCES = 16  # dependencies built from source in one install, at most


def install_for(
    python: BasePython,
    platform: str,
    requirements: Sequence[str],
    root: Path,
    env: Mapping[str, str],
) -> Path:
    """A venv-shaped directory at `root` holding `requirements` installed for `python`,
    uv running with the build's environment `env`.

    The package index is uv's, as for the bundled interpreter's venv: `UV_INDEX_URL`,
    `UV_INDEX`, `UV_FIND_LINKS` and the user's or the system's `uv.toml`.

    Wheels only, except a dependency that has none for this platform: its source
    distribution is built here (`--no-binary NAME`) and kept only when the wheel it makes
    is pure Python (`-none-any`), which fits every platform. `platform` (`linux/arm64`)
    words the error when a dependency has no wheel.
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
        "--only-binary", ":all:", *requirements,
    ]  # fmt: skip
    from_source: list[str] = []  # dependencies without a wheel, built from their sdist
    while True:
        sources = [f"--no-binary={name}" for name in from_source]
        try:
            run_tool([*command, *sources], env=installer_env(env), cwd=root)
            break
        except ToolFailed as exc:
            name = _no_wheel(exc.output)
            if name is None or name in from_source or len(from_source) >= _MAX_SOURCES:
                raise _install_error(exc.output, python, platform, from_source) from None
            from_source.append(name)
    _refuse_compiled(site, from_source, python, platform)
    _move_scripts(site, root / "bin")
    normalise_records(root)
    return root


def _no_wheel(output: str) -> str | None:
    """The dependency uv found no wheel of, or None."""
    match = _NO_WHEEL.search(" ".join(output.split()))
    return match.group(1) if match else None


def _refuse_compiled(
    site: Path, from_source: Sequence[str], python: BasePython, platform: str
) -> None:
    """Refuse a dependency built from source here into a wheel that is not pure Python:
    it holds this machine's compiled code (uv refuses it itself for another machine)."""
    from packaging.utils import canonicalize_name

    wanted = {canonicalize_name(name): name for name in from_source}
    for wheel in sorted(site.glob("*.dist-info/WHEEL")):
        name = canonicalize_name(wheel.parent.name.split("-")[0])
        tags = [
            line.partition(":")[2].strip()
            for line in wheel.read_text("utf-8").splitlines()
            if line.startswith("Tag:")
        ]
        if name in wanted and not all(tag.endswith("-none-any") for tag in tags):
            raise ImageError(_no_wheel_message(wanted[name], python, platform, _COMPILED))


def _install_error(
    output: str, python: BasePython, platform: str, from_source: Sequence[str] = ()
) -> ImageError:
    text = " ".join(output.split())
    name, reason = _no_wheel(output), ""
    if name is None and (match := _NO_SDIST.search(text)):
        name, reason = match.group(1), ", and it has no source distribution"
    elif name is None and (match := _BUILD_FAILED.search(text)):
        name = match.group(1)
        reason = _COMPILED if "is not compatible with the target" in text else _NO_BUILD
    if name is not None and (name in from_source or not from_source):
        return ImageError(_no_wheel_message(name, python, platform, reason))
    where = _where(python, platform)
    return ImageError(f"Installing the project for {where} failed:\n{tail(output)}")


def _where(python: BasePython, platform: str) -> str:
    return f"{platform} (Python {python.minor}, {python.uv_platform.split('-', 1)[1]})"


def _no_wheel_message(name: str, python: BasePython, platform: str, reason: str) -> str:
    """One message: `name` has no wheel for `platform`, why it was not built here, and the
    ways out (for another architecture, its own runner and `merge`)."""
    head = (
        f"No wheel of `{name}` for {_where(python, platform)}{reason}. Packages for a "
        "base's Python are installed from wheels, or built here from a source distribution "
        "when that makes a pure-Python wheel. Ways out: an index that has that wheel "
        "(UV_INDEX), a version of it that ships one, a wheel of it built for that platform "
        "in a directory named by UV_FIND_LINKS"
    )
    if python.machine == host_machine():
        return f'{head}, or `python = "bundled"` (this machine\'s interpreter builds it)'
    return (
        f"{head}, or building this platform on a machine of its architecture (drop it "
        "from `platforms` here) and joining the images with `hatch-krust merge DST SRC...`"
    )


def host_machine() -> str:
    """This machine's architecture as an ELF header names it (`x86_64`, `aarch64`)."""
    import platform

    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


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
