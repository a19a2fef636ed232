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

__all__ = ["Project", "projects_of", "push_problem"]


@dataclass
class Project:
    directory: Path  # resolved: two spellings of one directory are one project
    label: str  # the path as first written, for messages and progress
    places: list[str] = field(default_factory=list)  # FILE:LINE of each reference


def projects_of(files: Sequence[YamlFile], cwd: Path) -> dict[str, Project]:
    """Each distinct project, keyed by the path as written (several keys may share one)."""
    by_directory: dict[Path, Project] = {}
    by_path: dict[str, Project] = {}
    problems: list[str] = []
    for yaml_file in files:
        for occurrence in yaml_file.occurrences:
            place = f"{yaml_file.name}:{occurrence.line}"
            directory = (cwd / occurrence.path).resolve()
            project = by_directory.get(directory)
            if project is None:
                project = by_directory[directory] = Project(directory, occurrence.path)
            project.places.append(place)
            by_path[occurrence.path] = project
    for project in by_directory.values():
        where = ", ".join(project.places)
        if not project.directory.is_dir():
            problems.append(
                f"{SCHEME}{project.label} ({where}): no such directory {project.directory}"
            )
        elif not (project.directory / "pyproject.toml").is_file():
            problems.append(
                f"{SCHEME}{project.label} ({where}): {project.directory} has no pyproject.toml, "
                "so it is not a project to build (PATH is relative to the current directory)"
            )
    if problems:
        raise KrustError("\n".join(problems))
    return by_path


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
