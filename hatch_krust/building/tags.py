"""Tag templates: `{version}`, `{major}`, `{minor}`, `{micro}` from the project version."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from hatch_krust.errors import ConfigError

__all__ = ["RELEASE_FIELDS", "release_only_templates", "render_tags", "tag_safe"]

# Fields that name a release line: a dev, pre-release or local build must not move them.
RELEASE_FIELDS = ("{major}", "{minor}", "{micro}")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def tag_safe(text: str) -> str:
    """A version as a tag: `1.0+local` -> `1.0-local`; tags allow `[A-Za-z0-9_.-]` only."""
    safe = _UNSAFE.sub("-", text).lstrip(".-")
    return safe[:128] or "latest"


def release_only_templates(templates: tuple[str, ...], version: str) -> list[str]:
    """Templates skipped for `version`: those with release fields, when it is not a release.

    `1.4.3.dev1+g1234` would otherwise move `1.4` (as docker/metadata-action also avoids).
    """
    try:
        parsed = Version(version)
    except InvalidVersion:
        return []
    if not (parsed.is_prerelease or parsed.is_devrelease or parsed.local):
        return []
    return [t for t in templates if any(field in t for field in RELEASE_FIELDS)]


def render_tags(templates: tuple[str, ...], version: str) -> list[str]:
    """Fill each template; the result keeps order and drops repeats.

    Templates with `{major}`, `{minor}` or `{micro}` are skipped for dev, pre-release and
    local versions (see `release_only_templates`).
    """
    skipped = set(release_only_templates(templates, version))
    templates = tuple(t for t in templates if t not in skipped)
    fields = {"{version}": tag_safe(version)}
    try:
        parsed: Version | None = Version(version)
    except InvalidVersion:
        parsed = None
    if parsed is not None:
        fields["{major}"] = str(parsed.major)
        fields["{minor}"] = str(parsed.minor)
        fields["{micro}"] = str(parsed.micro)
    tags: list[str] = []
    for template in templates:
        tag = template
        for name, value in fields.items():
            tag = tag.replace(name, value)
        if "{" in tag:
            message = (
                f"Tag template {template!r} needs a version of the form MAJOR.MINOR.MICRO, "
                f"but the project version is {version!r}"
            )
            raise ConfigError(message)
        tag = tag_safe(tag)
        if tag not in tags:
            tags.append(tag)
    return tags
