"""The builds: `python -m hatchling build -t krust` per project, in a bounded pool, each
returning the reference it pushed; their stderr is the progress."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from hatch_krust.errors import BuildFailed, KrustError
from hatch_krust.resolve.scan import SCHEME

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from hatch_krust.resolve.projects import Project

__all__ = [
    "TAIL_LINES",
    "BuildFailed",
    "build_all",
    "build_project",
    "default_jobs",
    "stderr_line",
]

TAIL_LINES = 20  # lines of a failed build's stderr quoted in the error
_REFERENCE = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")


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
    """Run `python -m hatchling build -t krust` in the project; return the pushed reference.

    Its stderr goes to `progress` a line at a time, prefixed with `[PATH] ` (parallel
    builds interleave); the last lines are quoted in the error when it fails.
    """
    process = subprocess.Popen(
        [python, "-m", "hatchling", "build", "-t", "krust"],
        cwd=project.directory,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    out_pipe, err_pipe = process.stdout, process.stderr
    assert out_pipe is not None
    assert err_pipe is not None
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.append(out_pipe.read()), daemon=True)
    reader.start()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    prefix = f"[{project.label}] "
    for line in err_pipe:
        tail.append(line.rstrip("\r\n"))
        if progress is not None:
            progress(prefix + line)
    status = process.wait()
    reader.join()
    output = "".join(stdout)
    if status != 0:
        last = "\n".join(f"  {line}" for line in tail) or "  (it printed nothing on stderr)"
        message = (
            f"{SCHEME}{project.label} ({', '.join(project.places)}): building "
            f"{project.directory} failed "
            f"(`python -m hatchling build -t krust` exited with status {status}); "
            f"its last lines:\n{last}"
        )
        raise BuildFailed(message)
    references = [line.strip() for line in output.splitlines() if _REFERENCE.match(line.strip())]
    if not references:
        message = (
            f"{SCHEME}{project.label}: {project.directory} was built but not pushed "
            "(the build printed no reference); set KRUST_REPO=<registry>/<prefix> "
            "so resolve can push"
        )
        raise KrustError(message)
    return references[-1]


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
