"""Answering a registry's auth challenge: Basic, or Bearer tokens cached per scope set.

`ChallengeFlow` is the httpx.Auth flow every request of the module goes through: it adds
the `Authorization` header for the request's scopes (only on the registry's own origin)
and answers one 401 with a fresh token or the challenge it names.

Bearer flow (the Docker token spec): the `/v2/` ping returns a challenge with `realm`
and `service`; we ask the realm for a token covering the scopes a request needs (push
scope first, because some registries read only the first), with Basic credentials, an
OAuth2 refresh token, or nothing (anonymous). Tokens are cached per scope set until
shortly before they expire; a 401 naming a scope we lacked earns one retry.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

import httpx

from hatch_krust.errors import AuthError, RegistryError
from hatch_krust.registry.bodies import read_capped
from hatch_krust.registry.challenge import Challenge, parse_challenges, pick_challenge
from hatch_krust.registry.redact import printable, redact_url
from hatch_krust.registry.security import check_realm, host_of, same_origin

if TYPE_CHECKING:
    from hatch_krust.registry.credentials import Credentials
    from hatch_krust.registry.options import Options

__all__ = ["Authenticator", "Body", "ChallengeFlow", "pull_scope", "push_scope"]

# A request body: bytes, or a factory that yields fresh chunks each time it is called,
# so the same request can be sent again after a 401 or a retry.
Body = bytes | Callable[[], Iterable[bytes]] | None

log = logging.getLogger("hatch_krust.registry")

_MAX_TOKEN_BODY = 1 << 20
_DEFAULT_EXPIRY = 60.0
_EXPIRY_MARGIN = 10.0
_MAX_CHALLENGE_BODY = 64 << 10  # a 401 with more than this is not answered (httpx reads it)


def _now() -> float:
    """The clock tokens expire by (a seam for tests)."""
    return time.monotonic()


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


class Authenticator:
    """Auth state for one registry; thread-safe, so parallel uploads share tokens."""

    def __init__(
        self,
        host: str,
        client: httpx.Client,
        credentials: Credentials | None,
        options: Options,
    ) -> None:
        self.host = host
        self.client = client
        self.credentials = credentials
        self.options = options
        self.challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._refresh_token = credentials.identity_token if credentials else ""
        self._lock = threading.Lock()

    # -- challenge -----------------------------------------------------------------------

    def set_challenge(self, response: httpx.Response, base: str, *, http_allowed: bool) -> None:
        """Remember what the `/v2/` ping asked for; refuse what we must not answer."""
        challenge = pick_challenge(response.headers.get_list("WWW-Authenticate"))
        if challenge is None:
            message = (
                f"Registry {self.host} requires authentication with a scheme hatch-krust "
                "does not support (only Basic and Bearer are)"
            )
            raise AuthError(message, 401)
        if challenge.scheme == "bearer":
            check_realm(challenge.realm, base, http_allowed=http_allowed,
                        insecure=self.options.insecure)
        self.challenge = challenge

    # -- headers -------------------------------------------------------------------------

    def header(self, scopes: tuple[str, ...]) -> str | None:
        """The `Authorization` value for a request needing `scopes`, or None (anonymous)."""
        if self.challenge is None:
            return None
        credentials = self.credentials
        if self.challenge.scheme == "basic":
            if credentials is None or not credentials.has_basic:
                return None
            raw = f"{credentials.username}:{credentials.password}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        if credentials is not None and credentials.registry_token:
            return f"Bearer {credentials.registry_token}"
        return f"Bearer {self._token(scopes)}"

    def on_unauthorized(
        self, response: httpx.Response, scopes: tuple[str, ...]
    ) -> tuple[str, ...] | None:
        """Scopes to retry with after a 401, or None when a retry cannot help."""
        if self.challenge is None or self.challenge.scheme != "bearer":
            return None
        with self._lock:
            self._tokens.pop(scopes, None)
        fresh = [c for v in response.headers.get_list("WWW-Authenticate")
                 for c in parse_challenges(v) if c.scheme == "bearer"]
        wanted = fresh[0].params.get("scope", "") if fresh else ""
        extra = tuple(s for s in wanted.split(" ") if s and s not in scopes)
        # The scope the registry names goes first; it may read only the first one.
        return extra + scopes

    def answer(
        self, response: httpx.Response, scopes: tuple[str, ...], base: str, *, http_allowed: bool
    ) -> tuple[str, ...] | None:
        """Scopes to send the request again with after this 401, or None."""
        if self.challenge is None:
            if not response.headers.get("WWW-Authenticate"):
                return None
            # /v2/ was open but this repository is not: answer the challenge it gives
            self.set_challenge(response, base, http_allowed=http_allowed)
            return scopes
        return self.on_unauthorized(response, scopes)

    # -- tokens --------------------------------------------------------------------------

    def _token(self, scopes: tuple[str, ...]) -> str:
        with self._lock:
            cached = self._tokens.get(scopes)
            if cached and cached[1] > _now():
                return cached[0]
            token, lifetime = self._fetch_token(scopes)
            expires = _now() + max(lifetime - _EXPIRY_MARGIN, 1.0)
            self._tokens[scopes] = (token, expires)
            return token

    def _fetch_token(self, scopes: tuple[str, ...]) -> tuple[str, float]:
        assert self.challenge is not None
        realm = self.challenge.realm
        service = self.challenge.params.get("service", "")
        if self._refresh_token:
            response = self._oauth_request(realm, service, scopes)
        else:
            response = self._get_request(realm, service, scopes)
        with contextlib.closing(response):
            return self._parse_token_response(response, realm)

    def _get_request(self, realm: str, service: str, scopes: tuple[str, ...]) -> httpx.Response:
        params: list[tuple[str, str | int | float | bool | None]] = (
            [("service", service)] if service else []
        )
        params += [("scope", s) for s in scopes]
        headers = {}
        credentials = self.credentials
        if credentials is not None and credentials.has_basic:
            params.append(("account", credentials.username))
            raw = f"{credentials.username}:{credentials.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        return self._send(httpx.Request("GET", realm, params=params, headers=headers))

    def _oauth_request(
        self, realm: str, service: str, scopes: tuple[str, ...]
    ) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "service": service,
            "scope": " ".join(scopes),
            "client_id": "hatch-krust",
        }
        response = self._send(httpx.Request("POST", realm, data=form))
        if response.status_code in (404, 405):
            response.close()
            params: list[tuple[str, str | int | float | bool | None]] = [
                ("service", service), *(("scope", s) for s in scopes)
            ]
            return self._send(httpx.Request("GET", realm, params=params))
        return response

    def _send(self, request: httpx.Request) -> httpx.Response:
        seconds = self.options.document_timeout
        request.extensions["timeout"] = httpx.Timeout(
            seconds, connect=self.options.connect_timeout
        ).as_dict()
        try:
            return self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            message = (
                f"Cannot reach the token server of registry {self.host} "
                f"({redact_url(request.url)}): {type(exc).__name__}"
            )
            raise AuthError(message) from exc

    def _parse_token_response(self, response: httpx.Response, realm: str) -> tuple[str, float]:
        if response.status_code in (401, 403):
            raise AuthError(self._refused_message(realm, response.status_code), 401)
        if response.status_code != 200:
            message = (
                f"The token server of registry {self.host} ({host_of(realm)}) answered "
                f"{response.status_code} {printable(response.reason_phrase)}"
            )
            raise AuthError(message, response.status_code)
        try:
            body = read_capped(response, _MAX_TOKEN_BODY, timeout=self.options.document_timeout)
        except RegistryError as exc:
            message = f"The token server of registry {self.host} failed: {exc}"
            raise AuthError(message) from None
        return self._token_from_json(body)

    def _token_from_json(self, body: bytes) -> tuple[str, float]:
        try:
            document: Any = json.loads(body)
            token = str(document.get("token") or document.get("access_token") or "")
            lifetime = float(document.get("expires_in") or _DEFAULT_EXPIRY)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = "", 0.0
        if not token:
            message = f"The token server of registry {self.host} sent no usable token"
            raise AuthError(message)
        if isinstance(document.get("refresh_token"), str) and self._refresh_token:
            self._refresh_token = document["refresh_token"]
        return token, max(lifetime, _DEFAULT_EXPIRY)

    def _refused_message(self, realm: str, status: int) -> str:
        credentials = self.credentials
        if credentials is None:
            return (
                f"Unauthorized: registry {self.host} requires credentials and none were "
                f"found (token server {host_of(realm)} answered {status}). Log in with "
                f"`skopeo login {self.host}` or `docker login {self.host}`, or set "
                "REGISTRY_AUTH_FILE"
            )
        return (
            f"Unauthorized: registry {self.host} refused the credentials for user "
            f"{credentials.username or '<token>'!r} from {credentials.source or 'the caller'} "
            f"(token server {host_of(realm)} answered {status}); check the username and "
            "password"
        )


class ChallengeFlow(httpx.Auth):
    """The auth of one request: its scopes' `Authorization` on the registry's own origin,
    and one more try after a 401 that a token for the named scope may answer.

    Holds the body factory, so the second try sends a fresh body. `scopes=None` sends the
    request as it is (the `/v2/` ping).
    """

    def __init__(
        self,
        auth: Authenticator,
        scopes: tuple[str, ...] | None,
        content: Body,
        base: Callable[[], str],
        *,
        http_allowed: bool,
    ) -> None:
        self.auth, self.scopes, self.content = auth, scopes, content
        self.base, self.http_allowed = base, http_allowed

    def body(self) -> bytes | Iterable[bytes] | None:
        return self.content() if callable(self.content) else self.content

    def guards(self, url: str) -> bool:
        """True when requests to `url` carry credentials (and a 401 there is ours to word)."""
        return self.scopes is not None and same_origin(url, self.base())

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.scopes is None or not self.guards(str(request.url)):
            yield request
            return
        self._authorize(request, self.scopes)
        response = yield request
        declared = response.headers.get("Content-Length", "")
        if response.status_code != 401 or (
            declared.isdigit() and int(declared) > _MAX_CHALLENGE_BODY
        ):
            return
        scopes = self.auth.answer(response, self.scopes, self.base(),
                                  http_allowed=self.http_allowed)
        if scopes is None:
            return
        again = httpx.Request(request.method, request.url, headers=request.headers,
                              content=self.body(), extensions=request.extensions)
        self._authorize(again, scopes)
        yield again

    def _authorize(self, request: httpx.Request, scopes: tuple[str, ...]) -> None:
        authorization = self.auth.header(scopes)
        if authorization:
            request.headers["Authorization"] = authorization
        else:
            request.headers.pop("Authorization", None)
