"""The project's wheel, exactly as the project builds it (build hooks and their dependencies).

hatchling's WheelBuilder runs with this interpreter's packages when everything the wheel
target needs (`[build-system].requires` plus what `get_requires_for_build_wheel` reports:
the target's and its build hooks' `dependencies`) is installed here: in this process it
takes a hundredth of a second, and keeps a cache hit fast. Otherwise, or for another build
backend, the wheel is built in an isolated PEP 517 environment by `uv build --wheel`
(about a second once uv's cache is warm), with the environment the caller passes (`env`).

hatchling reads a few variables from the process itself and has no parameter for them:
`SOURCE_DATE_EPOCH` (the files' times), `HATCH_BUILD_*` (which hooks run, cleaning),
`HATCH_METADATA_*`. So hatchling runs in this process only when that gives what `env`
asks for: when the entry point passes the process's own environment (`process_env`) and
`env` agrees with it on those variables (a reproducible build with SOURCE_DATE_EPOCH set
stays in process), or, without `process_env`, when `env` sets none of them. Otherwise it
runs in a child of this interpreter (same `sys.path`, 0.1 to 0.2 s more) that gets exactly
`env`. Nothing here reads or writes `os.environ`: our own wheel hook is kept out of the
build by `HATCH_KRUST_INNER_WHEEL=1` in a child's environment, and by
`inner_build_running()` in this process.
A failing build hook is one KrustError naming the hook and the last lines of its error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
import zipfile
from contextvars import ContextVar
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ConfigError, KrustError
from hatch_krust.python.backends import find_uv
from hatch_krust.python.extras import normalize_extra, wheel_metadata
from hatch_krust.python.process import installer_env

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "INNER_WHEEL_ENV",
    "build_wheel",
    "given_wheel",
    "inner_build_running",
    "isolated_build",
    "missing_requirements",
]

INNER_WHEEL_ENV = "HATCH_KRUST_INNER_WHEEL"
_HATCHLING = "hatchling.build"
# Variables hatchling reads from the process's environment (prefixes included).
HATCHLING_VARIABLES = ("SOURCE_DATE_EPOCH", "HATCH_BUILD_", "HATCH_METADATA_")
_IN_BUILD: ContextVar[bool] = ContextVar("hatch_krust_inner_wheel_build", default=False)


def inner_build_running() -> bool:
    """True while hatchling builds the wheel in this process: our own wheel hook stays out."""
    return _IN_BUILD.get()


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def missing_requirements(requirements: Iterable[str]) -> list[str]:
    """The requirements this interpreter does not satisfy (markers evaluated here)."""
    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            missing.append(line)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(line)
            continue
        # a direct reference (`name @ url`) cannot be compared: installed is taken as meant
        if not requirement.url and not requirement.specifier.contains(installed, prereleases=True):
            missing.append(line)
    return missing


def _hatchling_requirements(root: Path, pyproject: Mapping[str, Any]) -> list[str] | None:
    """What the wheel build needs, when hatchling builds it; None for another backend."""
    system = pyproject.get("build-system", {})
    if system.get("build-backend") != _HATCHLING:
        return None
    from hatchling.builders.wheel import WheelBuilder

    try:
        hook_needs = list(WheelBuilder(str(root)).config.dependencies)
    except Exception as exc:  # hatchling reports configuration errors as plain exceptions
        message = f"The wheel target's configuration in {root / 'pyproject.toml'} is invalid: {exc}"
        raise ConfigError(message) from None
    return [*system.get("requires", []), *hook_needs]


def build_wheel(
    root: Path,
    directory: Path,
    env: Mapping[str, str],
    log: Callable[[str], None] | None = None,
    *,
    process_env: Mapping[str, str] | None = None,
) -> Path:
    """Build the project's wheel into `directory` with the environment `env`: with hatchling
    and this interpreter's packages when they suffice, else in an isolated environment.
    `process_env` is this process's own environment, when the caller has it."""
    pyproject = _pyproject(root)
    needs = _hatchling_requirements(root, pyproject)
    if needs is not None and not missing_requirements(needs):
        if log is not None:
            log("Building the wheel with hatchling")
        if _hatchling_view(env) != _hatchling_view(process_env or {}):
            return _hatchling_child(root, directory, pyproject, env)
        return _in_process(root, directory, pyproject)
    if log is not None:
        log("Building the wheel in an isolated build environment (uv build)")
    return isolated_build(root, directory, pyproject, env)


def _hatchling_view(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of `env` that hatchling reads from its own process."""
    return {name: value for name, value in env.items() if name.startswith(HATCHLING_VARIABLES)}


# Run by this interpreter in a child process: hatchling's WheelBuilder; the wheel's path last.
_HATCHLING_BUILD = """
import sys
from hatchling.builders.wheel import WheelBuilder
artifacts = list(WheelBuilder(sys.argv[1]).build(directory=sys.argv[2], versions=["standard"]))
print(artifacts[0])
"""


def _wheel_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a wheel build: no other Python's packages, our own wheel hook kept out."""
    child = installer_env(env)
    child[INNER_WHEEL_ENV] = "1"  # our own wheel hook must not recurse into this build
    return child


def _in_process(root: Path, directory: Path, pyproject: Mapping[str, Any]) -> Path:
    from hatchling.builders.wheel import WheelBuilder

    token = _IN_BUILD.set(True)
    try:
        builder = WheelBuilder(str(root))
        artifacts = list(builder.build(directory=str(directory), versions=["standard"]))
    except Exception as exc:  # a build hook may raise anything
        lines = traceback.format_exception_only(type(exc), exc)
        hook = _failed_hook(traceback.format_exc(), pyproject)
        raise _hook_error(hook, "".join(lines), "hatchling") from None
    finally:
        _IN_BUILD.reset(token)
    return Path(artifacts[0])


def _hatchling_child(
    root: Path, directory: Path, pyproject: Mapping[str, Any], env: Mapping[str, str]
) -> Path:
    child = _wheel_env(env)
    child["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    command = [sys.executable, "-c", _HATCHLING_BUILD, str(root), str(directory)]
    done = _run_build(command, root, child)
    output = (done.stderr or "") + (done.stdout or "")
    lines = [line for line in (done.stdout or "").splitlines() if line.strip()]
    if done.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise _hook_error(_failed_hook(output, pyproject), output, "hatchling")
    return Path(lines[-1])


def _run_build(
    command: list[str], root: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=1800, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        message = f"Building the project's wheel with `{Path(command[0]).name}` failed: {exc}"
        raise KrustError(message) from None


def _build_command(root: Path, directory: Path, env: Mapping[str, str]) -> list[str]:
    uv = find_uv(env)
    if uv is not None:
        return [uv, "build", "--wheel", "--out-dir", str(directory), str(root)]
    return [sys.executable, "-m", "build", "--wheel", "--outdir", str(directory), str(root)]


def isolated_build(
    root: Path, directory: Path, pyproject: Mapping[str, Any], env: Mapping[str, str]
) -> Path:
    """PEP 517 in a fresh environment: `[build-system].requires` + get_requires_for_build_wheel."""
    directory.mkdir(parents=True, exist_ok=True)
    command = _build_command(root, directory, env)
    done = _run_build(command, root, _wheel_env(env))
    output = (done.stderr or "") + (done.stdout or "")
    if done.returncode != 0:
        tool = "uv build" if "uv" in Path(command[0]).name else "python -m build"
        raise _hook_error(_failed_hook(output, pyproject), output, tool)
    wheels = sorted(directory.glob("*.whl"))
    if not wheels:
        message = f"Building the project's wheel reported success but wrote no wheel:\n{output}"
        raise KrustError(message)
    return wheels[-1]


def _configured_hooks(pyproject: Mapping[str, Any]) -> list[str]:
    build = pyproject.get("tool", {}).get("hatch", {}).get("build", {})
    wheel = build.get("targets", {}).get("wheel", {})
    return list(dict.fromkeys([*build.get("hooks", {}), *wheel.get("hooks", {})]))


def _failed_hook(output: str, pyproject: Mapping[str, Any]) -> str:
    """The build hook the output blames, as far as it can be told."""
    unknown = re.search(r"Unknown build hook: (\S+)", output)
    if unknown:
        return unknown.group(1).strip("`'\"")
    hooks = _configured_hooks(pyproject)
    if "hatch_build.py" in output and "custom" in hooks:
        return "custom"
    for hook in hooks:
        if re.search(rf"hatch[_-]{re.escape(hook)}\b", output):
            return hook
    return " or ".join(f"`{h}`" for h in hooks) if hooks else ""


# uv's own lines after the backend's output: generic ones say nothing the user can act on
_GENERIC_CAUSES = ("The build backend returned an error", "Call to `")


def _split_output(output: str) -> tuple[list[str], list[str]]:
    """(the backend's last lines, uv's specific `cause:` lines)."""
    lines = [line for line in output.splitlines() if line.strip()]
    ends = [i for i, line in enumerate(lines) if line.startswith("error: Failed to build")]
    if ends:
        backend = lines[: ends[-1]]
    else:
        backend, ends = lines, [len(lines)]
    frames = [i for i, line in enumerate(backend) if line.strip().startswith('File "')]
    if frames:  # a Python traceback: its last frame (the hook's line) and the exception
        backend = backend[frames[-1] :]
    causes = [
        line.strip().removeprefix("cause: ")
        for line in lines[ends[-1] + 1 :]
        if line.strip().startswith("cause:")
    ]
    specific = [c for c in causes if not c.startswith(_GENERIC_CAUSES)]
    return backend[-12:], specific


def _hook_error(hook: str, output: str, tool: str) -> KrustError:
    lines, causes = _split_output(output)
    if any(c.startswith(("Failed to resolve", "Failed to install")) for c in causes):
        message = (
            "Building the project's wheel needs packages that could not be installed "
            "(`[build-system].requires` and the `dependencies` of the wheel target and its "
            "build hooks): " + ". ".join(c.rstrip(".") for c in causes[1:] or causes)
            + ". Check those names and "
            "versions, and that the package index can be reached."
        )
        return KrustError(message)
    where = f"in the build hook {hook if hook.startswith('`') else f'`{hook}`'}" if hook else ""
    message = (
        f"Building the project's wheel ({tool}) failed {where}".rstrip()
        + ". Check the hook's configuration and its `dependencies` in "
        "[tool.hatch.build.targets.wheel.hooks.*]; `python -m build --wheel` shows the same "
        "error.\nLast lines of its output:\n"
        + "\n".join(f"  {line}" for line in [*lines, *causes])
    )
    return KrustError(message)


def given_wheel(root: Path, value: str, dist_name: str, version: str) -> Path:
    """The wheel named by the `wheel` option, checked to be this project at this version."""
    path = (root / value).resolve()
    where = "The option `wheel` (`KRUST_WHEEL`)"
    if not path.is_file():
        message = f"{where} names {value!r}, but {path} is not a file. Build it first."
        raise ConfigError(message)
    try:
        headers = wheel_metadata(path)
    except (OSError, ValueError, StopIteration, KeyError, zipfile.BadZipFile) as exc:
        message = f"{where} names {value!r}, which is not a readable wheel: {exc}"
        raise ConfigError(message) from None
    name = (headers.get("Name") or [""])[0]
    found = (headers.get("Version") or [""])[0]
    if normalize_extra(name) != normalize_extra(dist_name) or not _same_version(found, version):
        message = (
            f"{where} names {value!r}, a wheel of `{name} {found}`, but the project is "
            f"`{dist_name} {version}`. Rebuild the wheel or point the option at the right one."
        )
        raise ConfigError(message)
    return path


def _same_version(one: str, other: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(one) == Version(other)
    except InvalidVersion:
        return one == other
