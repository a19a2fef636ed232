"""The project's git checkout: its commit, whether the tree differs, and a public remote URL.

Read once per image build; the annotations and the provenance both take it from here.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["GitState", "git_state"]


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
    rest = remote[len("https://") :]
    authority, slash, path = rest.partition("/")
    # a password may hold an unencoded `@`: the host is after the last one
    remote = "https://" + authority.rpartition("@")[2] + slash + path
    return remote.removesuffix(".git")
