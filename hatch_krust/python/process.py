"""Running Python tools (installers, freezers, probes): one place that streams, captures and
reports their output.

Every tool gets the environment it is given: nothing here looks at the process's own.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError, ToolFailed

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["ToolFailed", "installer_env", "run_tool", "stage_failed", "tail"]

TAIL_LINES = 25


def installer_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without what would leak another Python's packages into a tool's Python.

    A build frontend may run us with PYTHONPATH pointing at its own isolated packages.
    """
    cleaned = dict(env)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX"):
        cleaned.pop(name, None)
    return cleaned


def run_tool(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    verbose: bool = False,
) -> str:
    """Run a tool with exactly `env`, echoing its output to stderr when verbose; return the
    output either way.

    The output is always kept so that a failure can show its tail even when it was streamed.
    """
    try:
        proc = subprocess.Popen(
            list(args),
            env=dict(env),
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
