"""The projects the references name: one per directory, checked to be a project, and
whether building it would push."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hatch_krust.errors import KrustError
from hatch_krust.resolve.scan import SCHEME

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from hatch_krust.resolve.sources import YamlFile

__all__ = ["Project", "allowed_roots", "projects_of", "push_problem"]


@dataclass
class Project:
    directory: Path  # resolved: two spellings of one directory are one project
    label: str  # the path as first written, for messages and progress
    places: list[str] = field(default_factory=list)  # FILE:LINE of each reference


def projects_of(
    files: Sequence[YamlFile], cwd: Path, allow_outside: Sequence[Path] = ()
) -> dict[str, Project]:
    """Each distinct project, keyed by the path as written (several keys may share one).

    Projects must lie under `cwd` or one of `allow_outside` (symlinks resolved): YAML from
    an untrusted change must not make resolve build, and run the hooks of, any project on
    the machine.
    """
    by_directory: dict[Path, Project] = {}
    by_path: dict[str, Project] = {}
    for yaml_file in files:
        for occurrence in yaml_file.occurrences:
            place = f"{yaml_file.name}:{occurrence.line}"
            directory = (cwd / occurrence.path).resolve()
            project = by_directory.get(directory)
            if project is None:
                project = by_directory[directory] = Project(directory, occurrence.path)
            project.places.append(place)
            by_path[occurrence.path] = project
    roots = allowed_roots(cwd, allow_outside)
    problems = [p for p in (_problem(project, roots) for project in by_directory.values()) if p]
    if problems:
        raise KrustError("\n".join(problems))
    return by_path


def allowed_roots(cwd: Path, allow_outside: Sequence[Path] = ()) -> list[Path]:
    """The directories projects may lie under: `cwd` first, then the allowed ones."""
    return [cwd.resolve(), *((cwd / extra).resolve() for extra in allow_outside)]


def _problem(project: Project, roots: Sequence[Path]) -> str | None:
    """What is wrong with `project`, as one line, or None."""
    ref = f"{SCHEME}{project.label} ({', '.join(project.places)})"
    directory = project.directory
    if not any(directory == root or root in directory.parents for root in roots):
        return (
            f"{ref}: {directory} is outside {roots[0]}, the directory resolve runs in, and "
            f"resolve builds only projects under it; if the YAML is trusted, pass "
            f"--allow-outside {directory}"
        )
    if not directory.is_dir():
        return f"{ref}: no such directory {directory}"
    if not (directory / "pyproject.toml").is_file():
        return (
            f"{ref}: {directory} has no pyproject.toml, so it is not a project to build "
            "(PATH is relative to the current directory)"
        )
    return None


def push_problem(directory: Path, env: Mapping[str, str]) -> str | None:
    """Why building `directory` would not push, when that can be told without building.

    None when it will push or when it cannot be told (the build itself then reports
    config errors, and a build that prints no reference is caught afterwards).
    """
    if (directory / "hatch.toml").exists():
        return None  # hatchling may read the target's table from there
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    from hatch_krust.config import load_config

    try:
        data = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
        table = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        config = load_config(table.get("krust", {}), env=env)
    except (OSError, ValueError, AttributeError, KrustError):
        return None
    if config.push is False:
        return "pushing is turned off for it (`push = false` or KRUST_PUSH)"
    if config.repository is None:
        return "no repository is set"
    return None
