"""The TLS context of every registry connection: one per process for each CA setting,
its CA bundle read only before the first https request.

Reading the bundle costs about 0.03 s of CPU, and httpx does it for every client it
makes (a build opens three: base pull, push, attachments), even for a registry that
answers plain http. Here the context is made once per process for each CA setting
(`SSL_CERT_FILE`, else `SSL_CERT_DIR`, else certifi's bundle, as httpx picks them, read
from `Options.env`) and its CAs are loaded by a request hook before the first https
request.

Verification is never off: the context requires a certificate and checks host names
from the start, so before its CAs are loaded it trusts nothing and a handshake through
it can only fail. The https probe of a loopback registry goes through it as it is (a
plain-http registry then fails the handshake without the bundle being read; an https
one fails verification and is asked again, the bundle loaded: see `client.Registry`).
"""

from __future__ import annotations

import ssl
import sys
import threading
from typing import TYPE_CHECKING

import httpx

from hatch_krust.errors import RegistryError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PROBE", "Trust", "trust_for"]

# A request extension: this request is the https probe, sent without loading the CAs.
PROBE = "hatch_krust.probe"

# With a proxy the connection may be TLS to the proxy whatever the request's scheme.
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})


class Trust:
    """One TLS context and whether its CAs are loaded; shared by the connections of a
    process that use the same CA setting."""

    def __init__(self, context: ssl.SSLContext, cafile: str | None, capath: str | None,
                 *, loaded: bool) -> None:
        self.context = context
        self._locations = (cafile, capath)
        self._loaded = loaded
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Read the CA bundle into the context (once)."""
        with self._lock:
            if self._loaded:
                return
            cafile, capath = self._locations
            if cafile is None and capath is None:
                import certifi

                cafile = certifi.where()
            try:
                self.context.load_verify_locations(cafile=cafile, capath=capath)
            except OSError as exc:  # ssl.SSLError too: not PEM, no certificate in it
                variable = "SSL_CERT_FILE" if self._locations[0] else "SSL_CERT_DIR"
                message = (
                    f"Cannot read the CA certificates at {cafile or capath} "
                    f"({exc.strerror or exc}); point {variable} at a PEM bundle of CA "
                    "certificates, or unset it to trust certifi's"
                )
                raise RegistryError(message) from None
            self._loaded = True

    def before_request(self, request: httpx.Request) -> None:
        """httpx request hook: the CAs are loaded before any https request but the probe."""
        if not self._loaded and request.url.scheme == "https" and not request.extensions.get(
            PROBE
        ):
            self.load()


_LOCK = threading.Lock()
_SHARED: dict[tuple[str, str] | None, Trust] = {}


def trust_for(insecure: bool, env: Mapping[str, str] | None) -> Trust:
    """The process's Trust for an insecure host (no verification, as the user asked) or
    for the CA setting of `env` (`Options.env`, which the CLI and builds fill from the
    process environment, as httpx reads it). With no `env`, httpx makes the context as it
    always did, CAs read at once, for this connection only."""
    if not insecure and env is None:
        return Trust(httpx.create_ssl_context(), None, None, loaded=True)
    env = env or {}
    key = None if insecure else (env.get("SSL_CERT_FILE", ""), env.get("SSL_CERT_DIR", ""))
    with _LOCK:
        trust = _SHARED.get(key)
        if trust is None:
            trust = _SHARED[key] = _unverified() if key is None else _verifying(*key, env)
    if any(name.lower() in _PROXY_VARIABLES and value for name, value in env.items()):
        trust.load()
    return trust


def _unverified() -> Trust:
    return Trust(httpx.create_ssl_context(verify=False), None, None, loaded=True)


def _verifying(cafile: str, capath: str, env: Mapping[str, str]) -> Trust:
    """A context as `ssl.create_default_context` makes it, without its CAs yet."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, host names checked
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    if sys.version_info >= (3, 13):  # pragma: no cover - as create_default_context there
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = env.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    if cafile:  # httpx's order: SSL_CERT_FILE, then SSL_CERT_DIR, then certifi
        return Trust(context, cafile, None, loaded=False)
    return Trust(context, None, capath or None, loaded=False)
