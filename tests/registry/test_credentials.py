"""Credential lookup: podman/skopeo file order, Docker's precedence, the helper protocol."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from hatch_krust.errors import AuthError
from hatch_krust.registry.credentials import Credentials, auth_files, lookup_credentials


def _auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def make_helper(directory: Path, name: str, script: str) -> Path:
    """A `docker-credential-<name>` executable that runs `script` (sh) for `get`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"docker-credential-{name}"
    path.write_text(f"#!/bin/sh\nread server\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_order_of_files(tmp_path: Path, clean_env: Path) -> None:
    env = {"HOME": str(clean_env), "REGISTRY_AUTH_FILE": str(tmp_path / "a.json"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run"), "DOCKER_CONFIG": str(tmp_path / "dc")}
    assert auth_files(env) == [
        tmp_path / "a.json",
        tmp_path / "run/containers/auth.json",
        clean_env / ".config/containers/auth.json",
        tmp_path / "dc/config.json",
    ]
    del env["XDG_RUNTIME_DIR"]
    assert auth_files(env)[1] == Path(f"/run/containers/{os.getuid()}/auth.json")


def test_first_file_that_knows_the_registry_wins(tmp_path: Path, clean_env: Path) -> None:
    _write(tmp_path / "run/containers/auth.json", {"auths": {"reg.io": _auth("run", "1")}})
    _write(clean_env / ".docker/config.json", {"auths": {"reg.io": _auth("docker", "2"),
                                                         "other.io": _auth("o", "3")}})
    env = {"HOME": str(clean_env), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    found = lookup_credentials("reg.io", env=env)
    assert found is not None
    assert (found.username, found.password) == ("run", "1")
    other = lookup_credentials("other.io", env=env)
    assert other is not None
    assert other.username == "o"
    assert lookup_credentials("none.io", env=env) is None


def test_registry_auth_file_first(tmp_path: Path, clean_env: Path) -> None:
    _write(tmp_path / "x.json", {"auths": {"reg.io": _auth("fromfile", "p")}})
    _write(clean_env / ".docker/config.json", {"auths": {"reg.io": _auth("docker", "2")}})
    env = {"HOME": str(clean_env), "REGISTRY_AUTH_FILE": str(tmp_path / "x.json")}
    found = lookup_credentials("reg.io", env=env)
    assert found is not None
    assert found.username == "fromfile"


def test_key_forms_and_docker_hub(clean_env: Path) -> None:
    _write(clean_env / ".docker/config.json", {"auths": {
        "https://index.docker.io/v1/": _auth("hub", "h"),
        "http://legacy.io:5000/v2/": _auth("legacy", "l"),
        "ns.io/team": _auth("team", "t"),
        "tok.io": {"identitytoken": "refresh"},
        "reg.io": {"registrytoken": "bearer"},
        "empty.io": {},
    }})
    env = {"HOME": str(clean_env)}
    for registry, repo, user in (("docker.io", "", "hub"), ("legacy.io:5000", "", "legacy"),
                                 ("ns.io", "team/app", "team")):
        found = lookup_credentials(registry, repo, env=env)
        assert found is not None
        assert found.username == user
    assert lookup_credentials("ns.io", "other/app", env=env) is None
    tok = lookup_credentials("tok.io", env=env)
    assert tok is not None
    assert tok.identity_token == "refresh"
    reg = lookup_credentials("reg.io", env=env)
    assert reg is not None
    assert reg.registry_token == "bearer"
    assert lookup_credentials("empty.io", env=env) is None


def test_repr_hides_secrets() -> None:
    text = repr(Credentials("u", "hunter2", "idtok", "regtok", "file"))
    assert "hunter2" not in text
    assert "idtok" not in text
    assert "regtok" not in text


def test_bad_auth_value_names_file_not_secret(clean_env: Path) -> None:
    _write(clean_env / ".docker/config.json",
           {"auths": {"reg.io": {"auth": base64.b64encode(b"nocolon").decode()}}})
    with pytest.raises(AuthError, match=r"config\.json") as info:
        lookup_credentials("reg.io", env={"HOME": str(clean_env)})
    assert "nocolon" not in str(info.value)


def test_cred_helpers_and_store(tmp_path: Path, clean_env: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    make_helper(bin_dir, "mine",
                'echo "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"h-$server\\",'
                '\\"Secret\\":\\"s3cret\\"}"')
    make_helper(bin_dir, "tok",
                'echo "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"<token>\\",'
                '\\"Secret\\":\\"idt\\"}"')
    make_helper(bin_dir, "none", 'echo "credentials not found in native keychain"; exit 1')
    make_helper(bin_dir, "broken", 'echo "s3cret-in-output" >&2; exit 3')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    _write(clean_env / ".docker/config.json", {
        "credsStore": "none",
        "credHelpers": {"helped.io": "mine", "tok.io": "tok", "broken.io": "broken",
                        "missing.io": "not-installed"},
        "auths": {"inline.io": _auth("inline", "i")},
    })
    env = {"HOME": str(clean_env), "PATH": os.environ["PATH"]}
    helped = lookup_credentials("helped.io", env=env)
    assert helped is not None
    assert (helped.username, helped.password) == ("h-helped.io", "s3cret")
    assert helped.source == "docker-credential-mine"
    tok = lookup_credentials("tok.io", env=env)
    assert tok is not None
    assert tok.identity_token == "idt"
    # credsStore says "not found": inline auths of the same file still count
    inline = lookup_credentials("inline.io", env=env)
    assert inline is not None
    assert inline.username == "inline"
    assert lookup_credentials("anon.io", env=env) is None
    assert lookup_credentials("missing.io", env=env) is None
    with pytest.raises(AuthError, match="exit status 3") as info:
        lookup_credentials("broken.io", env=env)
    assert "s3cret" not in str(info.value)


def test_nothing_is_written(tmp_path: Path, clean_env: Path) -> None:
    config = _write(clean_env / ".docker/config.json", {"auths": {"reg.io": _auth("u", "p")}})
    before = {p: p.stat().st_mtime_ns for p in clean_env.rglob("*")}
    lookup_credentials("reg.io", env={"HOME": str(clean_env)})
    lookup_credentials("zzz.io", env={"HOME": str(clean_env)})
    assert {p: p.stat().st_mtime_ns for p in clean_env.rglob("*")} == before
    assert config.exists()
