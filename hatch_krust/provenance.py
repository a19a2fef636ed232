"""Where the image came from: OCI annotations from project metadata and its git checkout.

Only facts about *this* project go here, so a base image's labels never pose as ours.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["GitState", "git_state", "image_annotations", "rfc3339"]


class GitState:
    def __init__(self, revision: str = "", dirty: bool = False, remote: str = "") -> None:
        self.revision = revision
        self.dirty = dirty
        self.remote = remote


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def git_state(root: Path) -> GitState:
    """The checkout's commit and whether its tree differs; empty outside a git checkout."""
    revision = _git(root, "rev-parse", "HEAD")
    if not revision:
        return GitState()
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    remote = _git(root, "config", "--get", "remote.origin.url")
    return GitState(revision, dirty, _public_url(remote))


def _public_url(remote: str) -> str:
    """An https form of the remote, without credentials; empty when it has no clear one."""
    if remote.startswith("git@") and ":" in remote:
        host, _, path = remote[4:].partition(":")
        remote = f"https://{host}/{path}"
    if not remote.startswith("https://"):
        return ""
    if "@" in remote.split("/")[2]:
        remote = "https://" + remote.split("@", 1)[1]
    return remote.removesuffix(".git")


def rfc3339(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch or 0, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_annotations(
    *,
    name: str,
    version: str,
    description: str,
    licenses: str,
    urls: Mapping[str, str],
    git: GitState,
    epoch: int | None,
) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in urls.items()}
    url = lowered.get("homepage") or lowered.get("documentation") or ""
    source = lowered.get("source") or lowered.get("repository") or git.remote
    annotations = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.created": rfc3339(epoch),
        "org.opencontainers.image.description": description,
        "org.opencontainers.image.licenses": licenses,
        "org.opencontainers.image.url": url,
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.revision": git.revision,
    }
    return {k: v for k, v in annotations.items() if v}
