"""The public remote URL that goes into image annotations and the provenance: it must never
carry a credential, and only a remote a reader could open becomes one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hatch_krust.building.git import _public_url, git_state


@pytest.mark.parametrize(
    ("remote", "public"),
    [
        ("https://github.com/o/r.git", "https://github.com/o/r"),
        ("https://github.com/o/r", "https://github.com/o/r"),
        ("https://gitlab.example.com/group/sub/r.git", "https://gitlab.example.com/group/sub/r"),
        ("https://github.com:443/o/r.git", "https://github.com:443/o/r"),
        # credentials in the URL are dropped, whatever their shape
        ("https://user:s3cret@github.com/o/r.git", "https://github.com/o/r"),
        ("https://ghp_T0KEN@github.com/o/r.git", "https://github.com/o/r"),
        ("https://x-access-token:gh@github.com:8443/o/r", "https://github.com:8443/o/r"),
        ("https://@github.com/o/r", "https://github.com/o/r"),
        # the scp-like form of ssh, as GitHub and GitLab print it
        ("git@github.com:o/r.git", "https://github.com/o/r"),
        ("git@gitlab.example.com:group/sub/r", "https://gitlab.example.com/group/sub/r"),
    ],
)
def test_public_url(remote: str, public: str) -> None:
    assert _public_url(remote) == public


@pytest.mark.parametrize(
    "remote",
    [
        "",
        "http://github.com/o/r.git",  # plain http: not offered as the source
        "ssh://git@github.com/o/r.git",
        "git://github.com/o/r.git",
        "file:///srv/git/r.git",
        "/srv/git/r.git",
        "../r",
        "alice@host.example:r.git",  # scp-like with a personal account: no public form
        "git@host-without-path",
    ],
)
def test_no_public_url(remote: str) -> None:
    assert _public_url(remote) == ""


@pytest.mark.parametrize("remote", ["https://user:s3cret@github.com/o/r", "git@github.com:o/r"])
def test_no_credential_survives(remote: str) -> None:
    public = _public_url(remote)
    assert "@" not in public
    assert "s3cret" not in public
    assert "user" not in public


def test_a_password_with_an_at_sign_is_dropped_whole() -> None:
    assert _public_url("https://user:p@ss@github.com/o/r.git") == "https://github.com/o/r"


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_git_state_reads_the_checkout(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "f").write_text("one\n")
    _git(tmp_path, "add", "f")
    _git(tmp_path, "commit", "-q", "-m", "x")
    _git(tmp_path, "remote", "add", "origin", "https://bot:tok3n@git.example.com/team/app.git")
    state = git_state(tmp_path)
    assert len(state.revision) == 40
    assert (state.dirty, state.remote) == (False, "https://git.example.com/team/app")
    (tmp_path / "f").write_text("two\n")
    assert git_state(tmp_path).dirty is True


def test_outside_a_checkout_everything_is_empty(tmp_path: Path) -> None:
    state = git_state(tmp_path)
    assert (state.revision, state.dirty, state.remote) == ("", False, "")
