"""Registry credentials from the places podman, skopeo and Docker keep them. Read-only.

Order (podman/skopeo): `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`
(`/run/containers/$UID/auth.json` when XDG_RUNTIME_DIR is unset),
`${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, `$DOCKER_CONFIG/config.json` or
`~/.docker/config.json`. The first file that knows the registry wins. Within a file
(Docker's precedence): `credHelpers[host]`, then `credsStore`, then inline `auths`.
A helper that says "credentials not found" means anonymous. Nothing is ever written.
A default location that cannot be read (`/run/containers` is root-only once root has used
podman) is skipped with a line in the verbose log; only a file the user named
(`REGISTRY_AUTH_FILE`, `DOCKER_CONFIG`) is an error when unreadable.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hatch_krust.errors import AuthError

__all__ = ["Credentials", "auth_files", "lookup_credentials"]

log = logging.getLogger("hatch_krust.registry")

HUB_KEY = "https://index.docker.io/v1/"
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HELPER_TIMEOUT = 60.0
_MAX_FILE = 4 << 20
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


@dataclass(frozen=True)
class Credentials:
    """What a registry needs to know who we are; `repr` never shows the secrets."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)
    source: str = ""

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r})"

    @property
    def has_basic(self) -> bool:
        return bool(self.username and self.password)


def auth_files(env: dict[str, str] | None = None) -> list[Path]:
    """Candidate auth files in lookup order (they need not exist)."""
    return [path for path, _named in _candidates(dict(os.environ) if env is None else env)]


def _candidates(env: dict[str, str]) -> list[tuple[Path, bool]]:
    """Each auth file with whether the user named it (True) or it is a default location."""
    home = _home(env)
    out: list[tuple[Path, bool]] = []
    if env.get("REGISTRY_AUTH_FILE"):
        out.append((Path(env["REGISTRY_AUTH_FILE"]), True))
    if env.get("XDG_RUNTIME_DIR"):
        out.append((Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json", False))
    else:  # where podman and skopeo write when XDG_RUNTIME_DIR is unset (root in CI)
        out.append((Path(f"/run/containers/{os.getuid()}") / "auth.json", False))
    if env.get("XDG_CONFIG_HOME") or home:
        config_home = Path(env.get("XDG_CONFIG_HOME") or f"{home}/.config")
        out.append((config_home / "containers" / "auth.json", False))
    if env.get("DOCKER_CONFIG"):
        out.append((Path(env["DOCKER_CONFIG"]) / "config.json", True))
    elif home:
        out.append((home / ".docker" / "config.json", False))
    return out


def _home(env: dict[str, str]) -> Path | None:
    """$HOME, else the passwd entry's; None where there is neither (a static executable in
    an empty root), so the files under it are simply not looked for."""
    if env.get("HOME"):
        return Path(env["HOME"])
    try:
        return Path.home()
    except RuntimeError:
        return None


def normalize_key(key: str) -> str:
    """An `auths` key as host[/path]: scheme and `/v1/` cut, Docker Hub names unified."""
    if "://" in key:
        parts = urlsplit(key)
        key = parts.netloc + parts.path
    key = key.rstrip("/").removesuffix("/v1").removesuffix("/v2").lower()
    host, sep, path = key.partition("/")
    host = "docker.io" if host in _HUB_NAMES else host
    return host + sep + path


def lookup_credentials(
    registry: str, repository: str = "", env: dict[str, str] | None = None
) -> Credentials | None:
    """Credentials for `registry` (as in a Reference), or None for anonymous."""
    registry = normalize_key(registry)
    for path, named in _candidates(dict(os.environ) if env is None else env):
        document = _read(path, named=named)
        if document is None:
            continue
        found = _from_file(document, registry, repository, str(path))
        if found is not None:
            return found
    return None


def _read(path: Path, *, named: bool) -> dict[str, Any] | None:
    """The file's JSON object; None when absent, or unreadable at a default location."""
    try:
        if not path.is_file():
            return None
        with path.open("rb") as f:
            raw = f.read(_MAX_FILE)
    except OSError as exc:
        if not named:
            log.info("skipping registry credentials file %s: %s (a default location, "
                      "not one the user named)", path, type(exc).__name__)
            return None
        message = f"Cannot read registry credentials file {path}: {type(exc).__name__}"
        raise AuthError(message) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        message = f"Cannot read registry credentials file {path}: {type(exc).__name__}"
        raise AuthError(message) from None
    if not isinstance(data, dict):
        message = f"Registry credentials file {path} is not a JSON object"
        raise AuthError(message)
    _check_shape(data, path)
    return data


def _check_shape(document: dict[str, Any], path: Path) -> None:
    """One clear AuthError for a file Docker or podman would not read either."""
    helpers = document.get("credHelpers")
    if helpers is not None and not (
        isinstance(helpers, dict) and all(isinstance(v, str) for v in helpers.values())
    ):
        message = (
            f"Registry credentials file {path}: `credHelpers` must be an object mapping "
            'registry names to helper names, e.g. {"ghcr.io": "pass"}; fix or remove it'
        )
        raise AuthError(message)
    store = document.get("credsStore")
    if store is not None and not isinstance(store, str):
        message = f"Registry credentials file {path}: `credsStore` must be a helper name"
        raise AuthError(message)
    auths = document.get("auths")
    if auths is not None and not isinstance(auths, dict):
        message = (
            f"Registry credentials file {path}: `auths` must be an object mapping registry "
            'names to entries, e.g. {"ghcr.io": {"auth": "…"}}; log in again to rewrite it'
        )
        raise AuthError(message)


def _from_file(
    document: dict[str, Any], registry: str, repository: str, source: str
) -> Credentials | None:
    helpers = document.get("credHelpers") or {}
    helper = helpers.get(registry) or helpers.get("index.docker.io" if registry == "docker.io"
                                                  else registry)
    helper = helper or document.get("credsStore")
    if isinstance(helper, str) and helper:
        found = run_helper(helper, registry)
        if found is not None:
            return found
    auths = {_normal_or_none(k): v for k, v in (document.get("auths") or {}).items()}
    for key in _keys(registry, repository):
        entry = auths.get(key)
        if entry is None or entry == {}:
            continue
        if not isinstance(entry, dict):
            message = f"The `auths` entry for {key} in {source} is not an object"
            raise AuthError(message)
        decoded = _decode_entry(entry, source)
        if decoded is not None:
            return decoded
    return None


def _normal_or_none(key: str) -> str | None:
    try:
        return normalize_key(key)
    except ValueError:  # an unparsable URL as a key: it names no registry we look up
        return None


def _keys(registry: str, repository: str) -> list[str]:
    """Most specific first: host/ns/repo, host/ns, host (namespaced keys as in auth.json)."""
    parts = repository.split("/") if repository else []
    return [registry + "/" + "/".join(parts[:i]) for i in range(len(parts), 0, -1)] + [registry]


def _decode_entry(entry: dict[str, Any], source: str) -> Credentials | None:
    values = {k: entry.get(k) or "" for k in ("auth", "identitytoken", "registrytoken")}
    wrong = sorted(k for k, v in values.items() if not isinstance(v, str))
    if wrong:
        message = f"The `{wrong[0]}` value for {source} is not a string"
        raise AuthError(message)
    username, password = "", ""
    if values["auth"]:
        try:
            raw = base64.b64decode(values["auth"], validate=False).decode()
        except (binascii.Error, ValueError):
            raw = ""
        username, sep, password = raw.partition(":")
        if not sep:
            message = f"The `auth` value for {source} is not base64 of user:password"
            raise AuthError(message)
        password = password.rstrip("\x00")
    identity, registry_token = values["identitytoken"], values["registrytoken"]
    if not (password or identity or registry_token):
        return None
    return Credentials(username, password, identity, registry_token, source)


def run_helper(name: str, registry: str) -> Credentials | None:
    """Ask `docker-credential-<name>`; None when it has nothing or cannot be found."""
    import subprocess  # only with a helper configured: most pushes never start one

    if not _HELPER_NAME.fullmatch(name):
        message = f"The credential helper name {name[:64]!r} is not a plain program name"
        raise AuthError(message)
    program = shutil.which(f"docker-credential-{name}")
    if program is None:
        log.warning("credential helper docker-credential-%s not found; continuing anonymously",
                    name)
        return None
    server = HUB_KEY if registry == "docker.io" else registry
    try:
        done = subprocess.run(
            [program, "get"], input=server.encode(), capture_output=True,
            timeout=_HELPER_TIMEOUT, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        message = f"Credential helper docker-credential-{name} failed: {type(exc).__name__}"
        raise AuthError(message) from None
    if done.returncode != 0:
        if b"credentials not found" in done.stdout.lower() + done.stderr.lower():
            return None
        message = (
            f"Credential helper docker-credential-{name} failed for {registry} "
            f"(exit status {done.returncode})"
        )
        raise AuthError(message)
    return _parse_helper_output(done.stdout, name)


def _parse_helper_output(stdout: bytes, name: str) -> Credentials | None:
    try:
        data = json.loads(stdout)
        username, secret = str(data.get("Username") or ""), str(data.get("Secret") or "")
    except (ValueError, AttributeError):
        message = f"Credential helper docker-credential-{name} printed no JSON"
        raise AuthError(message) from None
    source = f"docker-credential-{name}"
    if not secret:
        return None
    if username == "<token>":
        return Credentials(identity_token=secret, source=source)
    return Credentials(username=username, password=secret, source=source)
