"""staticx: bundle the PyInstaller executable with its C library into one static ELF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.freeze._process import ToolFailed, run_tool, stage_failed
from hatch_krust.freeze._runners import runner_script

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.freeze.environment import FreezeEnvironment
    from hatch_krust.freeze.spec import FreezeRequest

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


def _tmp_dir(request: FreezeRequest) -> Path:
    path = request.work_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path
