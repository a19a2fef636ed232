"""staticx: bundle the PyInstaller executable with its C library into one static ELF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.freeze._runners import runner_script
from hatch_krust.python.process import ToolFailed, run_tool, stage_failed

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.freeze.spec import FreezeRequest
    from hatch_krust.python.environment import FreezeEnvironment

__all__ = ["run_staticx", "staticx_report"]


def staticx_report(request: FreezeRequest) -> Path:
    """Where the staticx runner lists the libraries it added (for the bill of materials)."""
    return request.work_dir / "static" / "libraries.json"


def run_staticx(env: FreezeEnvironment, request: FreezeRequest, program: Path) -> Path:
    """Run staticx (through the reproducibility wrapper) and return the static executable."""
    out_dir = request.work_dir / "static"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / program.name
    args = [str(env.python), str(runner_script("staticx_run.py", request.work_dir))]
    if request.verbose:
        args += ["--loglevel", "INFO"]
    if not request.compress:
        args.append("--no-compress")
    for library in extra_libraries():
        args += ["-l", str(library)]
    args += [str(program), str(output)]
    tool_env = env.tool_env(request.source_date_epoch)
    tool_env["TMPDIR"] = str(_tmp_dir(request))
    tool_env["KRUST_STATICX_REPORT"] = str(staticx_report(request))
    try:
        run_tool(args, env=tool_env, cwd=request.work_dir, verbose=request.verbose)
    except ToolFailed as exc:
        stage = f"running staticx {env.tools.get('staticx', '?')}"
        hint = "staticx needs ldd, objcopy (binutils) and patchelf."
        raise stage_failed(stage, exc, hint) from None
    output.chmod(0o755)  # staticx leaves its temporary file's 0700
    return output


def extra_libraries() -> list[Path]:
    """Libraries glibc loads at run time with dlopen, which staticx cannot see in the ELF.

    glibc's `pthread_exit` (and thread cancellation, used when Python stops daemon threads
    at exit) dlopens `libgcc_s.so.1` for stack unwinding; without it a frozen server dies
    on exit with "libgcc_s.so.1 must be installed for pthread_exit to work".
    """
    from pathlib import Path

    found = []
    for directory in _library_dirs():
        candidate = Path(directory) / "libgcc_s.so.1"
        if candidate.is_file():
            found.append(candidate.resolve())
            break
    return found


def _library_dirs() -> list[str]:
    """The dynamic loader's search path for this machine's architecture (multiarch first)."""
    import sysconfig

    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"] if multiarch else []
    return [*dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib"]


def _tmp_dir(request: FreezeRequest) -> Path:
    path = request.work_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path
