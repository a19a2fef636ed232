"""One registry host: its httpx client, scheme, auth, retries, redirects and error mapping.

Every request of the module goes through `Registry.request`, so the security rules
(credentials only to the registry's own origin, no scheme downgrade) and the retry
rules live in one place.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin

import httpx

from hatch_krust.errors import AuthError, HTTPError, RegistryError, TransportFailure
from hatch_krust.registry.auth import Authenticator
from hatch_krust.registry.credentials import lookup_credentials
from hatch_krust.registry.options import Options
from hatch_krust.registry.redact import install_log_redaction, redact_url
from hatch_krust.registry.retry import RETRY_STATUSES, parse_retry_after
from hatch_krust.registry.security import insecure_from_env, is_loopback, same_origin

__all__ = [
    "Body",
    "HTTPError",
    "Registry",
    "TransportFailure",
    "is_transient",
    "raise_for_status",
    "transport_failure",
]

log = logging.getLogger("hatch_krust.registry")
install_log_redaction()

# A request body: bytes, or a factory that yields fresh chunks each time it is called,
# so the same request can be sent again after a 401 or a retry.
Body = bytes | Callable[[], Iterable[bytes]] | None

_MAX_ERROR_BODY = 64 << 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_TEMPORARY_CODES = frozenset({"BLOB_UPLOAD_INVALID", "TOOMANYREQUESTS", "UNKNOWN", "UNAVAILABLE"})



class Registry:
    """A connection to one registry host (`host[:port]` as in a Reference's api_host)."""

    def __init__(self, host: str, options: Options | None = None, repository: str = "") -> None:
        """`repository` picks the most specific `auths` entry (`host/namespace`) when given."""
        self.host = host
        self.options = options or Options()
        insecure = insecure_from_env(self.options.insecure)
        self.insecure = host.lower() in insecure
        self.http_allowed = self.insecure or is_loopback(host)
        self.base = f"https://{host}"
        timeout = httpx.Timeout(
            self.options.read_timeout, connect=self.options.connect_timeout, pool=None
        )
        self.client = httpx.Client(
            timeout=timeout,
            verify=not self.insecure,
            follow_redirects=False,
            transport=self.options.transport,
            headers={"User-Agent": "hatch-krust"},
        )
        credentials = self.options.credentials
        if credentials is None:
            credentials = lookup_credentials(host, repository, env=self.options.env)
        self.auth = Authenticator(host, self.client, credentials, self.options)
        self._pinged = False
        self._lock = threading.Lock()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- connection set-up ---------------------------------------------------------------

    def ping(self) -> None:
        """Learn the scheme and the auth challenge from `GET /v2/` (once)."""
        with self._lock:
            if self._pinged:
                return
            response = self._ping_any_scheme()
            try:
                if response.status_code == 401:
                    self.auth.set_challenge(response, self.base, http_allowed=self.http_allowed)
                elif response.status_code != 200:
                    raise_for_status(response, "checking the registry API")
            finally:
                response.close()
            self._pinged = True

    def _ping_any_scheme(self) -> httpx.Response:
        if not self.http_allowed:
            return self._send_retrying("GET", f"{self.base}/v2/", scopes=None)
        url = f"https://{self.host}/v2/"
        try:
            return self._send_once("GET", url, scopes=None, headers={}, content=None, stream=False)
        except httpx.TransportError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise transport_failure(self.host, "GET", url, exc) from exc
            log.debug("https failed for %s, using plain http", self.host)
        self.base = f"http://{self.host}"
        return self._send_retrying("GET", f"{self.base}/v2/", scopes=None)

    # -- requests ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for an API path (`/v2/...`) or a Location the registry gave."""
        return urljoin(self.base + "/", path)

    def request(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...],
        headers: dict[str, str] | None = None,
        content: Body = None,
        stream: bool = False,
        retry: bool = True,
    ) -> httpx.Response:
        """Send with auth and redirects; retry 408/429/5xx and resets when `retry`.

        The caller checks the status (see `raise_for_status`) and closes streamed responses.
        """
        self.ping()
        url = self.url(url)
        if not retry:
            return self._send_mapped(
                method, url, scopes=scopes, headers=headers or {}, content=content, stream=stream
            )
        return self._send_retrying(
            method, url, scopes=scopes, headers=headers, content=content, stream=stream
        )

    def _send_retrying(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...] | None,
        headers: dict[str, str] | None = None,
        content: Body = None,
        stream: bool = False,
    ) -> httpx.Response:
        policy, started, attempt = self.options.retry, time.monotonic(), 0
        while True:
            attempt += 1
            try:
                response = self._send_mapped(
                    method,
                    url,
                    scopes=scopes,
                    headers=headers or {},
                    content=content,
                    stream=stream,
                )
            except RegistryError as exc:
                wait = policy.delay(attempt)
                if not is_transient(exc) or not policy.allows(attempt, started, wait):
                    raise
                log.info("%s; retrying in %.1f s", exc, wait)
                time.sleep(wait)
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            wait = policy.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
            if not policy.allows(attempt, started, wait):
                return response
            log.info(
                "%s %s: %s; retrying in %.1f s", method, redact_url(url), response.status_code, wait
            )
            response.close()
            time.sleep(wait)

    def _send_mapped(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...] | None,
        headers: dict[str, str],
        content: Body,
        stream: bool,
    ) -> httpx.Response:
        try:
            return self._send_authenticated(
                method, url, scopes=scopes, headers=headers, content=content, stream=stream
            )
        except httpx.TransportError as exc:
            raise transport_failure(self.host, method, url, exc) from exc

    def _send_authenticated(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...] | None,
        headers: dict[str, str],
        content: Body,
        stream: bool,
    ) -> httpx.Response:
        response = self._send_once(
            method, url, scopes=scopes, headers=headers, content=content, stream=stream
        )
        if response.status_code != 401 or scopes is None or not same_origin(url, self.base):
            return response
        if self.auth.challenge is None and response.headers.get("WWW-Authenticate"):
            # /v2/ was open but this repository is not: answer the challenge it gives
            self.auth.set_challenge(response, self.base, http_allowed=self.http_allowed)
            retry_scopes: tuple[str, ...] | None = scopes
        else:
            retry_scopes = self.auth.on_unauthorized(response, scopes)
        if retry_scopes is not None:
            response.close()
            response = self._send_once(
                method, url, scopes=retry_scopes, headers=headers, content=content, stream=stream
            )
        if response.status_code == 401:
            response.close()
            raise AuthError(self._unauthorized(method, url), 401)
        return response

    def _unauthorized(self, method: str, url: str) -> str:
        path = redact_url(url).partition("?")[0].removeprefix(self.base)
        credentials = self.auth.credentials
        if credentials is None:
            return (
                f"Unauthorized: registry {self.host} requires credentials and none were found "
                f"({method} {path}: 401). Log in with `skopeo login {self.host}` or "
                f"`docker login {self.host}`, or set REGISTRY_AUTH_FILE"
            )
        user = credentials.username or "<token>"
        return (
            f"Unauthorized: registry {self.host} refused the credentials for user {user!r} "
            f"from {credentials.source or 'the caller'} ({method} {path}: 401); check the "
            "username and password, or log in again"
        )

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...] | None,
        headers: dict[str, str],
        content: Body,
        stream: bool,
    ) -> httpx.Response:
        """One request, following redirects for GET/HEAD without leaking credentials."""
        for _ in range(_MAX_REDIRECTS + 1):
            request_headers = dict(headers)
            if scopes is not None and same_origin(url, self.base):
                authorization = self.auth.header(scopes)
                if authorization:
                    request_headers["Authorization"] = authorization
            body = content() if callable(content) else content
            request = self.client.build_request(method, url, headers=request_headers, content=body)
            response = self.client.send(request, stream=stream)
            if response.status_code not in _REDIRECTS or method not in ("GET", "HEAD"):
                return response
            target = urljoin(url, response.headers.get("Location", ""))
            response.close()
            if url.startswith("https:") and not target.startswith("https:"):
                message = (
                    f"{method} {redact_url(url)} redirected to plain http "
                    f"({redact_url(target)}); refused"
                )
                raise RegistryError(message)
            url = target
        message = f"{method} {redact_url(url)}: too many redirects"
        raise RegistryError(message)


def transport_failure(
    host: str, method: str, url: str, exc: httpx.TransportError
) -> TransportFailure:
    """The TransportFailure for `exc`, redacted, with a hint where one helps."""
    kind = type(exc).__name__
    detail = str(exc).strip()[:200] or kind
    hint = ""
    if "CERTIFICATE_VERIFY_FAILED" in detail:
        hint = (
            ". The registry's TLS certificate is not trusted: point SSL_CERT_FILE at its "
            "CA bundle, or list the host in KRUST_INSECURE_REGISTRIES if it is a test registry"
        )
    message = f"Cannot talk to registry {host} ({method} {redact_url(url)}): {kind}: {detail}{hint}"
    return TransportFailure(message, temporary=not hint)


def is_transient(exc: RegistryError) -> bool:
    """True when the same request may succeed if tried again later."""
    if isinstance(exc, TransportFailure):
        return exc.temporary
    return isinstance(exc, HTTPError) and exc.temporary


def raise_for_status(
    response: httpx.Response, doing: str, expected: Iterable[int] = (200,)
) -> None:
    """Raise HTTPError (or AuthError) unless the status is expected; reads a capped body."""
    if response.status_code in set(expected):
        return
    request = response.request
    codes, details = _error_details(response)
    url = redact_url(request.url)
    if response.status_code in (401, 403):
        message = (
            f"Unauthorized: registry {request.url.netloc.decode()} refused access while "
            f"{doing} ({request.method} {url}: {response.status_code}"
            f"{': ' + details if details else ''})"
        )
        raise AuthError(message, response.status_code)
    message = (
        f"Registry error while {doing}: {request.method} {url} answered "
        f"{response.status_code} {response.reason_phrase}{': ' + details if details else ''}"
    )
    raise HTTPError(
        message,
        method=request.method,
        url=url,
        status=response.status_code,
        codes=codes,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        temporary=response.status_code in RETRY_STATUSES or bool(_TEMPORARY_CODES & set(codes)),
    )


def _error_details(response: httpx.Response) -> tuple[tuple[str, ...], str]:
    """OCI `errors[]` codes and messages from at most 64 KiB of the body."""
    body = read_capped(response, _MAX_ERROR_BODY, truncate=True)
    try:
        document: Any = json.loads(body)
        errors = document.get("errors") or []
        codes = tuple(str(e.get("code", ""))[:64] for e in errors if isinstance(e, dict))
        texts = [
            f"{str(e.get('code', ''))[:64]}: {str(e.get('message', ''))[:200]}"
            for e in errors
            if isinstance(e, dict)
        ]
    except (ValueError, AttributeError, TypeError):
        return (), ""
    return codes, "; ".join(texts)


def read_capped(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The body, reading at most `limit` bytes; over the limit is an error unless `truncate`."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and not truncate:
        raise _too_large(response, limit)
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if truncate:
                    break
                raise _too_large(response, limit)
    except httpx.StreamConsumed:
        return response.content[:limit]
    finally:
        response.close()
    return b"".join(chunks)[:limit]


def _too_large(response: httpx.Response, limit: int) -> RegistryError:
    return RegistryError(
        f"{response.request.method} {redact_url(response.request.url)}: the response is "
        f"larger than {limit // 1024} KiB; refused"
    )
