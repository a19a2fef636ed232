"""Malformed auth files: one AuthError (a KrustError), never a traceback (issue 11, item 5).

A seeded generator feeds thousands of mutated documents (random types, nesting, sizes and
encodings) through the credential loader exactly as a user's file would reach it.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from hatch_krust.errors import AuthError, KrustError
from hatch_krust.registry.credentials import Credentials, lookup_credentials

REGISTRY = "registry.example"
VALID: dict[str, Any] = {
    "auths": {
        REGISTRY: {"auth": base64.b64encode(b"alice:pw").decode()},
        "other.example/team": {"identitytoken": "tok"},
    },
    "credHelpers": {"helper.example": "none"},
    "credsStore": "",
}


def _env(tmp_path: Path, auth_file: Path) -> dict[str, str]:
    return {
        "REGISTRY_AUTH_FILE": str(auth_file),
        "HOME": str(tmp_path / "home"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"auths": [1]}',
        '{"credHelpers": ["x"]}',
        '{"credHelpers": {"registry.example": 7}}',
        '{"credsStore": {"a": 1}}',
        '{"auths": {"registry.example": "YWxpY2U6cHc="}}',
        '{"auths": {"registry.example": {"auth": 5}}}',
        '{"auths": {"registry.example": {"auth": "\\u00e9\\u00e9"}}}',
        '{"auths": {"registry.example": {"identitytoken": ["t"]}}}',
        '{"credsStore": "../../bin/sh"}',
        "[" * 100_000,
    ],
)
def test_malformed_auth_files_give_one_auth_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "auth.json"
    path.write_text(text)
    with pytest.raises(AuthError, match=str(path).replace(".", r"\.") + "|auth|helper"):
        lookup_credentials(REGISTRY, "team/app", env=_env(tmp_path, path))


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth < 6 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**70, 1.5, float("1e308")])
    if kind == 3:
        return rng.choice(["", "x", "\x00", "é" * 3, "YWxpY2U6cHc=", "::::", "http://[", "a/b"])
    if kind == 4:
        return base64.b64encode(rng.randbytes(rng.randrange(12))).decode()
    if kind == 5:
        return rng.choice([REGISTRY, "docker.io", "https://index.docker.io/v1/", "pass", ""])
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["auths", "credHelpers", "credsStore", "auth", "identitytoken", "registrytoken",
            REGISTRY, f"{REGISTRY}/team", "http://[", "x"]
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


def _mutate(rng: random.Random, document: Any, depth: int = 0) -> Any:
    """The valid document with random parts replaced, dropped or retyped."""
    if isinstance(document, dict) and rng.random() < 0.8:
        out = {}
        for key, value in document.items():
            roll = rng.random()
            if roll < 0.1:
                continue
            out[key] = _value(rng, depth) if roll < 0.4 else _mutate(rng, value, depth + 1)
        if rng.random() < 0.3:
            out[rng.choice(["auths", "credHelpers", "credsStore", REGISTRY])] = _value(rng, depth)
        return out
    return _value(rng, depth) if rng.random() < 0.5 else document


def _encode(rng: random.Random, document: Any) -> bytes:
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
    roll = rng.random()
    if roll < 0.1:
        return text.encode("utf-16")
    if roll < 0.15:
        return text.encode("utf-32")
    if roll < 0.25:
        return text.encode("latin-1", errors="replace")
    if roll < 0.35:
        data = bytearray(text.encode())
        for _ in range(rng.randrange(1, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if roll < 0.4:
        return text.encode()[: rng.randrange(len(text) + 1)]
    if roll < 0.42:
        return ("[" * rng.randrange(900, 5000)).encode()
    return text.encode()


def test_thousands_of_mutated_auth_files_fail_cleanly_or_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-helpers"))  # no credential helper runs
    rng = random.Random(20261201)
    path = tmp_path / "auth.json"
    env = _env(tmp_path, path)
    outcomes = {"ok": 0, "error": 0}
    for number in range(3000):
        document = _mutate(rng, VALID) if number % 3 else _value(rng, 0)
        path.write_bytes(_encode(rng, document))
        try:
            found = lookup_credentials(REGISTRY, "team/app", env=env)
        except KrustError:
            outcomes["error"] += 1
        else:
            assert found is None or isinstance(found, Credentials)
            outcomes["ok"] += 1
    assert outcomes["ok"] > 100 and outcomes["error"] > 100, outcomes
