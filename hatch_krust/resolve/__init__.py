"""`hatch-krust resolve` and `apply`: Kubernetes YAML with `krust://PATH` image references.

Like `ko resolve`: every scalar whose whole value is `krust://PATH` names a project
directory (relative to the current directory, with a `pyproject.toml`, and under the
current directory unless `--allow-outside DIR` allows more). Each distinct project's
`krust` target is built once, in a child process of its own (it pushes the image when a
repository is known and writes its build record as JSON for this process to read), and
the YAML is printed with each reference replaced by that digest reference.

The replacement is done on the text, not by re-serialising YAML, so comments, order,
quoting and document separators stay byte-for-byte as they were (`scan.py`). Which files
are read is `sources.py`; the projects the references name, `projects.py`; the pool of
builds, `builds.py`. This module joins them into the two commands.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.atomic import write_atomically
from hatch_krust.errors import KrustError
from hatch_krust.resolve.builds import build_all, build_project, default_jobs, stderr_line
from hatch_krust.resolve.projects import Project, projects_of, push_problem
from hatch_krust.resolve.scan import (
    SCHEME,
    Occurrence,
    find_references,
    join_files,
    replace_references,
)
from hatch_krust.resolve.sources import YamlFile, collect_files, read_files

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "SCHEME",
    "Occurrence",
    "Project",
    "YamlFile",
    "apply",
    "build_project",
    "collect_files",
    "default_jobs",
    "find_references",
    "join_files",
    "push_problem",
    "read_files",
    "replace_references",
    "resolve",
    "write_image_refs",
]


def resolve(
    sources: Sequence[str],
    *,
    recursive: bool = False,
    jobs: int | None = None,
    quiet: bool = False,
    env: Mapping[str, str],
    cwd: Path | None = None,
    python: str = sys.executable,
    stdin: Callable[[], bytes] | None = None,
    allow_outside: Sequence[Path] = (),
    image_refs: Path | None = None,
) -> str:
    """The YAML of `sources` with every `krust://PATH` replaced by its pushed reference.

    Everything is checked and built before anything is returned: on any error a
    KrustError, and no partial YAML (and no `image_refs` file). Projects must lie under
    `cwd` or `allow_outside`. `image_refs` (ko's `--image-refs`) receives every reference
    built, one a line, in the order the YAML first names each project.
    """
    env = dict(env)  # the caller's (the CLI reads the process's)
    cwd = Path.cwd() if cwd is None else cwd
    files = read_files(collect_files(sources, recursive=recursive, cwd=cwd), stdin, cwd)
    by_path = projects_of(files, cwd, allow_outside)
    projects = list({id(p): p for p in by_path.values()}.values())
    if projects:
        no_push = [(p, why) for p in projects if (why := push_problem(p.directory, env))]
        if no_push:
            lines = "\n".join(
                f"  {SCHEME}{p.label} ({', '.join(p.places)}): {why}" for p, why in no_push
            )
            message = (
                "set KRUST_REPO=<registry>/<prefix> so resolve can push; these projects "
                f"would be built but not pushed:\n{lines}"
            )
            raise KrustError(message)
        progress = None if quiet else stderr_line
        if progress is not None:
            names = ", ".join(SCHEME + p.label for p in projects)
            progress(f"Building {len(projects)} project(s): {names}\n")
        built = build_all(
            projects, env, jobs=jobs or default_jobs(), python=python, progress=progress
        )
    else:
        built = {}
    images = {path: built[project.directory] for path, project in by_path.items()}
    text = join_files([replace_references(f.text, f.occurrences, images) for f in files])
    if image_refs is not None:
        write_image_refs(image_refs, [built[p.directory] for p in projects], cwd)
    return text


def write_image_refs(path: Path, references: Sequence[str], cwd: Path) -> None:
    """One reference a line, each once, in the order given; written whole (the one
    atomic writer), so a reader never sees half a list."""
    target = cwd / path
    lines = "".join(f"{ref}\n" for ref in dict.fromkeys(references))
    try:
        write_atomically(lines.encode("utf-8"), target, parents=False)
    except OSError as exc:
        message = f"Cannot write --image-refs {path}: {exc.strerror or exc}"
        raise KrustError(message) from None


def kubectl_missing_message(sources: Sequence[str], recursive: bool) -> str:
    flags = " ".join(f"-f {shlex.quote(s)}" for s in sources) + (" -R" if recursive else "")
    return (
        "kubectl is not on PATH; run "
        f"`hatch-krust resolve {flags} | kubectl apply -f -` where kubectl is installed"
    )


def apply(
    sources: Sequence[str],
    kubectl_args: Sequence[str] = (),
    *,
    recursive: bool = False,
    jobs: int | None = None,
    quiet: bool = False,
    env: Mapping[str, str],
    cwd: Path | None = None,
    python: str = sys.executable,
    stdin: Callable[[], bytes] | None = None,
    allow_outside: Sequence[Path] = (),
    image_refs: Path | None = None,
) -> int:
    """Resolve, then `kubectl apply -f - KUBECTL_ARGS` with the YAML on its stdin.

    kubectl is looked for first, so nothing is built when it is missing. Returns
    kubectl's exit status; its output goes where ours does.
    """
    import shutil

    env = dict(env)  # the caller's (the CLI reads the process's)
    kubectl = shutil.which("kubectl", path=env.get("PATH", os.defpath))
    if kubectl is None:
        raise KrustError(kubectl_missing_message(sources, recursive))
    text = resolve(
        sources,
        recursive=recursive,
        jobs=jobs,
        quiet=quiet,
        env=env,
        cwd=cwd,
        python=python,
        stdin=stdin,
        allow_outside=allow_outside,
        image_refs=image_refs,
    )
    if not quiet:
        stderr_line(f"Running kubectl apply -f - {shlex.join(kubectl_args)}".rstrip())
    done = subprocess.run(
        [kubectl, "apply", "-f", "-", *kubectl_args],
        input=text.encode("utf-8"),
        env=env,
        cwd=cwd,
        check=False,
    )
    return done.returncode
