"""The builds: a child process per project (`python -m hatch_krust.plugin.run`, its
`krust` target built in-process there), in a bounded pool; each writes its result as
JSON to a file this process reads. Their stderr is the progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import BuildFailed, KrustError
from hatch_krust.resolve.scan import SCHEME

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from hatch_krust.resolve.projects import Project

__all__ = [
    "TAIL_LINES",
    "BuildFailed",
    "build_all",
    "build_project",
    "default_jobs",
    "read_reference",
    "stderr_line",
]

TAIL_LINES = 20  # lines of a failed build's stderr quoted in the error
RUNNER = "hatch_krust.plugin.run"  # the child's module: builds one project, writes JSON


_output_lock = threading.Lock()


def stderr_line(text: str) -> None:
    """Write one line of progress to stderr, whole even when builds run in parallel."""
    with _output_lock:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()


def build_project(
    project: Project,
    env: Mapping[str, str],
    *,
    python: str = sys.executable,
    progress: Callable[[str], None] | None = stderr_line,
) -> str:
    """Build the project's `krust` target in a child process; return the pushed reference.

    The child's stderr goes to `progress` a line at a time, prefixed with `[PATH] `
    (parallel builds interleave); the last lines are quoted in the error when it fails.
    """
    with tempfile.TemporaryDirectory(prefix="hatch-krust-resolve-") as tmp:
        result = Path(tmp) / "result.json"
        status, tail = _run_child(
            [python, "-m", RUNNER, "--result", str(result)], project, env, progress
        )
        if status != 0:
            last = "\n".join(f"  {line}" for line in tail) or "  (it printed nothing on stderr)"
            message = (
                f"{SCHEME}{project.label} ({', '.join(project.places)}): building "
                f"{project.directory} failed "
                f"(its `krust` build exited with status {status}); "
                f"its last lines:\n{last}"
            )
            raise BuildFailed(message)
        reference = read_reference(result)
    if reference is None:
        message = (
            f"{SCHEME}{project.label}: {project.directory} was built but not pushed "
            "(the build reported no reference); set KRUST_REPO=<registry>/<prefix> "
            "so resolve can push"
        )
        raise KrustError(message)
    return reference


def read_reference(result: Path) -> str | None:
    """The reference a child's result file names; None when it pushed nothing."""
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    reference = data.get("reference") if isinstance(data, dict) else None
    return reference if isinstance(reference, str) and reference else None


def _run_child(
    command: list[str],
    project: Project,
    env: Mapping[str, str],
    progress: Callable[[str], None] | None,
) -> tuple[int, deque[str]]:
    """Run `command` in the project; (exit status, its last stderr lines)."""
    process = subprocess.Popen(
        command,
        cwd=project.directory,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert process.stderr is not None
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    prefix = f"[{project.label}] "
    for line in process.stderr:
        tail.append(line.rstrip("\r\n"))
        if progress is not None:
            progress(prefix + line)
    return process.wait(), tail


def default_jobs() -> int:
    """Builds at once: the cores, at most 4 (a freeze keeps about one core busy)."""
    return max(1, min(4, os.cpu_count() or 1))


def build_all(
    projects: Sequence[Project],
    env: Mapping[str, str],
    *,
    jobs: int,
    python: str = sys.executable,
    progress: Callable[[str], None] | None = stderr_line,
) -> dict[Path, str]:
    """Build each project (in a pool of `jobs`); the pushed reference of each directory.

    After a failure no new build starts; those running finish, then every failure is
    reported together, in the order of the projects.
    """
    results: dict[Path, str] = {}
    failures: dict[Path, str] = {}
    stop = threading.Event()  # set at the first failure: builds not yet started are skipped

    def one(project: Project) -> str | None:
        if stop.is_set():
            return None
        try:
            return build_project(project, env, python=python, progress=progress)
        except KrustError:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(projects) or 1))) as pool:
        futures: dict[Future[str | None], Project] = {pool.submit(one, p): p for p in projects}
        for future in as_completed(futures):
            project = futures[future]
            try:
                reference = future.result()
            except KrustError as exc:
                failures[project.directory] = str(exc)
                continue
            if reference is not None:
                results[project.directory] = reference
                if progress is not None:
                    progress(f"[{project.label}] -> {reference}\n")
    if failures:
        messages = [failures[p.directory] for p in projects if p.directory in failures]
        if len(messages) > 1:
            messages.insert(0, f"{len(messages)} builds failed:")
        raise KrustError("\n".join(messages))
    return results
