"""Running the freezing tools: one place that streams, captures and reports their output."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError, ToolFailed

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["ToolFailed", "installer_env", "run_tool", "stage_failed", "tail"]

TAIL_LINES = 25



def installer_env() -> dict[str, str]:
    """The caller's environment without what would leak another Python's packages in.

    A build frontend may run us with PYTHONPATH pointing at its own isolated packages.
    """
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX"):
        env.pop(name, None)
    return env


def run_tool(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    verbose: bool = False,
) -> str:
    """Run a tool, echoing its output to stderr when verbose; return the output either way.

    The output is always kept so that a failure can show its tail even when it was streamed.
    """
    try:
        proc = subprocess.Popen(
            list(args),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise ToolFailed(args, 127, f"cannot run {args[0]}: {exc}") from exc
    lines: list[str] = []
    assert proc.stdout is not None
    try:
        with proc.stdout:
            for line in proc.stdout:
                lines.append(line)
                if verbose:
                    sys.stderr.write(line)
                    sys.stderr.flush()
    except BaseException:  # Ctrl-C included: do not leave PyInstaller running behind us
        proc.kill()
        proc.wait()
        raise
    output = "".join(lines)
    if proc.wait() != 0:
        raise ToolFailed(args, proc.returncode, output)
    return output


def tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last lines of a tool's output, indented, for an error message.

    A tool's own Python traceback is cut to its final line (the error itself): the frames
    say nothing a user can act on, and the whole output stays in FreezeError.output.
    """
    kept = [line for line in _without_frames(output.strip().splitlines()) if line.strip()]
    return "\n".join(f"    {line}" for line in kept[-lines:])


def _without_frames(lines: list[str]) -> list[str]:
    kept: list[str] = []
    in_frames = False
    for line in lines:
        if line.lstrip().startswith("Traceback (most recent call last):"):
            in_frames = True
            continue
        if in_frames and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        in_frames = False
        kept.append(line)
    return kept


def stage_failed(stage: str, failure: ToolFailed, hint: str = "") -> FreezeError:
    """A FreezeError for a failed stage, with the tail of the tool's output in the message."""
    message = f"{stage} failed (exit status {failure.returncode})."
    if hint:
        message += f" {hint}"
    message += f"\nLast lines of its output:\n{tail(failure.output)}"
    return FreezeError(message, output=failure.output)
