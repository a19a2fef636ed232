"""One registry host: its httpx client, scheme, redirects, retries and error mapping.

Every request of the module goes through `Registry.request`: the auth is an httpx.Auth
flow (`auth.ChallengeFlow`: credentials only to the registry's own origin, one answer to
a 401), the retries are one wrapper (`retry.retrying`), and redirects are followed here
(GET/HEAD only, never from https to http). Small documents are read with a deadline
(`bodies.read_capped`); `close()` ends every wait at once, so Ctrl-C stops a transfer.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx

from hatch_krust.errors import AuthError, HTTPError, RegistryError, TransportFailure
from hatch_krust.registry.auth import Authenticator, Body, ChallengeFlow
from hatch_krust.registry.blobrecord import BlobRecord
from hatch_krust.registry.bodies import ACCEPT_ENCODING, read_capped
from hatch_krust.registry.credentials import lookup_credentials
from hatch_krust.registry.options import Options
from hatch_krust.registry.redact import install_log_redaction, printable, redact_url
from hatch_krust.registry.retry import RETRY_STATUSES, is_transient, parse_retry_after, retrying
from hatch_krust.registry.security import http_allowed, insecure_hosts
from hatch_krust.registry.trust import PROBE, trust_for

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "Body",
    "HTTPError",
    "Registry",
    "TransportFailure",
    "is_transient",
    "raise_for_status",
    "read_capped",
    "transport_failure",
]

log = logging.getLogger("hatch_krust.registry")
install_log_redaction()

_MAX_ERROR_BODY = 64 << 10
_MAX_SMALL_BODY = 4 << 20  # a non-streamed response (ping, HEAD, PUT, POST answers)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_TEMPORARY_CODES = frozenset({"BLOB_UPLOAD_INVALID", "TOOMANYREQUESTS", "UNKNOWN", "UNAVAILABLE"})


class Registry:
    """A connection to one registry host (`host[:port]` as in a Reference's api_host)."""

    def __init__(self, host: str, options: Options | None = None, repository: str = "") -> None:
        """`repository` picks the most specific `auths` entry (`host/namespace`) when given."""
        self.host = host
        self.options = options or Options()
        insecure = insecure_hosts(self.options.insecure)
        self.insecure = host.lower() in insecure
        self.http_allowed = self.insecure or http_allowed(host)
        self.base = f"https://{host}"
        timeout = httpx.Timeout(
            self.options.read_timeout, connect=self.options.connect_timeout, pool=None
        )
        # one TLS context a process for each CA setting; its CAs read only for https
        self.trust = trust_for(self.insecure, self.options.env)
        self.client = httpx.Client(
            timeout=timeout,
            verify=self.trust.context,
            follow_redirects=False,
            transport=self.options.transport,
            headers={"User-Agent": "hatch-krust", "Accept-Encoding": ACCEPT_ENCODING},
            event_hooks={"request": [self.trust.before_request]},
        )
        credentials = self.options.credentials
        if credentials is None:
            credentials = lookup_credentials(host, repository, env=self.options.env)
        self.auth = Authenticator(host, self.client, credentials, self.options)
        self._pinged = False
        self._lock = threading.Lock()
        self.closed = threading.Event()
        self.record = BlobRecord(self.options.blob_record, host)  # where blobs were seen

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and wake every retry wait (workers then stop)."""
        self.closed.set()
        self.client.close()
        self.record.save()

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
        if self.http_allowed:
            try:
                return self._probe_https()
            except TransportFailure as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise
                log.debug("https failed for %s, using plain http", self.host)
            self.base = f"http://{self.host}"
        return self.request("GET", "/v2/", scopes=None, ping=False)

    def _probe_https(self) -> httpx.Response:
        """`GET /v2/` over https, first through the context as it is: if its CAs are not
        read yet, a plain-http registry fails the handshake without them (the common
        loopback case pays nothing for them) and an https one fails verification, then is
        asked again with them read."""
        url = f"https://{self.host}/v2/"
        loaded = self.trust.loaded
        try:
            return self._send("GET", url, {}, self._flow(None, None), stream=False, probe=True)
        except TransportFailure as exc:
            if loaded or "CERTIFICATE_VERIFY_FAILED" not in str(exc):
                raise
        self.trust.load()
        return self._send("GET", url, {}, self._flow(None, None), stream=False)

    # -- requests ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for an API path (`/v2/...`) or a Location the registry gave."""
        return urljoin(self.base + "/", path)

    def request(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...] | None,
        headers: dict[str, str] | None = None,
        content: Body = None,
        stream: bool = False,
        retry: bool = True,
        ping: bool = True,
    ) -> httpx.Response:
        """Send with auth and redirects; retry 408/429/5xx and resets when `retry`.

        The caller checks the status (see `raise_for_status`) and closes streamed responses.
        """
        if ping:
            self.ping()
        url = self.url(url)
        send = functools.partial(
            self._send, method, url, headers or {}, self._flow(scopes, content), stream=stream
        )
        if not retry:
            return send()
        return retrying(send, self.options.retry, f"{method} {redact_url(url)}",
                        self.closed.wait)

    def _flow(self, scopes: tuple[str, ...] | None, content: Body) -> ChallengeFlow:
        return ChallengeFlow(self.auth, scopes, content, lambda: self.base,
                             http_allowed=self.http_allowed)

    def _send(
        self, method: str, url: str, headers: dict[str, str], flow: ChallengeFlow, *,
        stream: bool, probe: bool = False,
    ) -> httpx.Response:
        """One request (and its 401 answer and redirects), mapped to KrustErrors."""
        if self.closed.is_set():
            message = f"The connection to registry {self.host} was closed (interrupted)"
            raise RegistryError(message)
        # Blob bodies (uploads, streamed blob GETs) keep the long per-read timeout; all
        # else is a small document with `document_timeout` per read and in total.
        bulk = callable(flow.content) or (stream and "/blobs/sha256:" in url)
        try:
            response = self._follow(method, url, headers, flow, bulk=bulk, probe=probe)
            if not stream:
                response = _buffered(response, self.options.document_timeout)
        except httpx.TransportError as exc:
            raise transport_failure(self.host, method, url, exc) from exc
        if response.status_code == 401 and flow.guards(url):
            response.close()
            raise AuthError(self._unauthorized(method, url), 401)
        return response

    def _follow(
        self, method: str, url: str, headers: dict[str, str], flow: ChallengeFlow, *,
        bulk: bool, probe: bool = False,
    ) -> httpx.Response:
        """Send, following redirects for GET/HEAD; never from https to plain http."""
        timeout = httpx.USE_CLIENT_DEFAULT if bulk else self._document_timeout()
        extensions = {PROBE: True} if probe else None
        for _ in range(_MAX_REDIRECTS + 1):
            request = self.client.build_request(
                method, url, headers=headers, content=flow.body(), timeout=timeout,
                extensions=extensions,
            )
            response = self.client.send(request, auth=flow, stream=True)
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

    def _document_timeout(self) -> httpx.Timeout:
        seconds = min(self.options.read_timeout, self.options.document_timeout)
        return httpx.Timeout(seconds, connect=self.options.connect_timeout, pool=None)

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


def _buffered(response: httpx.Response, timeout: float) -> httpx.Response:
    """A streamed response read whole (bounded in size, decoded size and time) into a
    plain one, already decoded."""
    data = read_capped(response, _MAX_SMALL_BODY, truncate=True, timeout=timeout)
    headers = response.headers.copy()
    if "Content-Encoding" in headers:
        del headers["Content-Encoding"]
        headers.pop("Content-Length", None)
    buffered = httpx.Response(
        response.status_code, headers=headers, content=data, request=response.request
    )
    buffered.read()
    return buffered


# What the resolver and the kernel say when retrying cannot help.
_UNKNOWN_HOST = ("Name or service not known", "nodename nor servname", "No address associated",
                 "Temporary failure in name resolution", "getaddrinfo failed")
_REFUSED = ("Connection refused", "Errno 111", "WinError 10061")


def transport_failure(
    host: str, method: str, url: str, exc: httpx.TransportError
) -> TransportFailure:
    """The TransportFailure for `exc`, redacted, with a hint where one helps.

    An unknown host, a refused connection and an untrusted certificate are not retried:
    they do not heal in the minutes a retry policy waits.
    """
    kind = type(exc).__name__
    detail = str(exc).strip()[:200] or kind
    where = f"Cannot talk to registry {host} ({method} {redact_url(url)})"
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    if any(text in detail for text in _UNKNOWN_HOST):
        message = f"{where}: the host name {name} does not resolve (DNS: {detail})"
        if name.lower() == "ko.local":
            message += "; to load the image into a local engine, use krust.local"
        else:
            message += "; check the registry name and the network"
        return TransportFailure(message, temporary=False)
    if isinstance(exc, httpx.ConnectError) and any(text in detail for text in _REFUSED):
        message = (
            f"{where}: the connection was refused; nothing listens on {host} "
            "(check the port, or start the registry)"
        )
        return TransportFailure(message, temporary=False)
    if "CERTIFICATE_VERIFY_FAILED" in detail:
        message = (
            f"{where}: {kind}: {detail}. The registry's TLS certificate is not trusted: point "
            "SSL_CERT_FILE at its CA bundle, or list the host in KRUST_INSECURE_REGISTRIES "
            "if it is a test registry"
        )
        return TransportFailure(message, temporary=False)
    return TransportFailure(f"{where}: {kind}: {detail}")


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
        f"{response.status_code} {printable(response.reason_phrase)}"
        f"{': ' + details if details else ''}"
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
    """OCI `errors[]` codes and messages from at most 64 KiB of the body, with control
    characters escaped."""
    body = read_capped(response, _MAX_ERROR_BODY, truncate=True)
    try:
        document: Any = json.loads(body)
        errors = document.get("errors") or []
        codes = tuple(str(e.get("code", ""))[:64] for e in errors if isinstance(e, dict))
        texts = [
            printable(f"{str(e.get('code', ''))[:64]}: {str(e.get('message', ''))[:200]}")
            for e in errors
            if isinstance(e, dict)
        ]
    except (ValueError, AttributeError, TypeError):
        return (), ""
    return codes, "; ".join(texts)
