"""An unreadable DEFAULT credentials location is skipped; an unreadable file the user named
is an error (issue 21, item 14). Once root has used podman, `/run/containers` is root-only,
and a normal user's anonymous pull must not stop on it.

Permissions do not stop root, so each lookup runs in a forked child that drops to `nobody`
when the suite runs as root (as the current user otherwise): real permission bits either way."""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatch_krust.errors import AuthError
from hatch_krust.registry.credentials import lookup_credentials

NOBODY = 65534


@pytest.fixture
def root() -> Iterator[Path]:
    """A directory the unprivileged child can enter (pytest's tmp_path is root's own)."""
    where = Path(tempfile.mkdtemp(prefix="krust-unreadable-"))
    where.chmod(0o755)
    yield where
    for path in where.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(where)


def write_docker_config(home: Path, user: str) -> None:
    auth = base64.b64encode(f"{user}:secret".encode()).decode()
    (home / ".docker").mkdir(parents=True)
    (home / ".docker/config.json").write_text(json.dumps({"auths": {"reg.io": {"auth": auth}}}))
    for path in (home, home / ".docker", home / ".docker/config.json"):
        path.chmod(0o755)


def locked(directory: Path) -> Path:
    """`directory/auth.json` behind a directory nobody but root may enter."""
    directory.mkdir(parents=True)
    (directory / "auth.json").write_text('{"auths": {}}')
    directory.chmod(0o000)
    return directory / "auth.json"


def lookup(env: dict[str, str]) -> tuple[dict[str, str | None], str]:
    """Look up `reg.io` unprivileged; the answer and the debug log."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, look up, report, and leave without pytest's cleanup
        status = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
            os.write(write, json.dumps(child_lookup(env)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    answer = json.loads(data)
    return answer["answer"], answer["log"]


def child_lookup(env: dict[str, str]) -> dict[str, object]:
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("hatch_krust.registry")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        found = lookup_credentials("reg.io", env=env)
        answer: dict[str, str | None] = {"user": found.username if found else None}
    except AuthError as exc:
        answer = {"error": str(exc)}
    return {"answer": answer, "log": "\n".join(lines)}


def test_unreadable_runtime_auth_file_is_skipped(root: Path) -> None:
    locked(root / "run/containers")
    (root / "run").chmod(0o755)
    write_docker_config(root / "home", "docker-user")
    env = {"HOME": str(root / "home"), "XDG_RUNTIME_DIR": str(root / "run")}
    answer, log = lookup(env)
    assert answer == {"user": "docker-user"}, log
    assert f"skipping registry credentials file {root}/run/containers/auth.json" in log


def test_unreadable_default_docker_config_means_anonymous(root: Path) -> None:
    home = root / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker/config.json").write_text("{}")
    (home / ".docker").chmod(0o000)
    home.chmod(0o755)
    answer, log = lookup({"HOME": str(home), "XDG_RUNTIME_DIR": str(root / "none")})
    assert answer == {"user": None}, log
    assert "skipping registry credentials file" in log


@pytest.mark.parametrize("variable", ["REGISTRY_AUTH_FILE", "DOCKER_CONFIG"])
def test_unreadable_named_file_is_an_error(root: Path, variable: str) -> None:
    named = locked(root / "named")
    value = str(named) if variable == "REGISTRY_AUTH_FILE" else str(named.parent)
    file = named if variable == "REGISTRY_AUTH_FILE" else named.parent / "config.json"
    env = {"HOME": str(root / "home"), "XDG_RUNTIME_DIR": str(root / "none"), variable: value}
    answer, log = lookup(env)
    assert answer == {"error": f"Cannot read registry credentials file {file}: "
                               "PermissionError"}, log
