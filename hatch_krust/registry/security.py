"""Transport policy: where plain http is allowed and where credentials may go.

Rules, after the credential leaks other clients shipped (ggcr #2337, containerd
CVE-2020-15157, oras-go GHSA-jxpm-75mh-9fp7):

- plain http only for loopback registries or those the user names as insecure; a
  `localhost` / `*.localhost` name counts as loopback only when every address it
  resolves to is a loopback address (as Docker checks), not by its spelling;
- `Authorization` only to the registry's own scheme+host+port, never after a redirect
  to another host, never to a foreign-layer URL;
- a token realm must be https unless the registry itself may use http, and may not be a
  loopback/private IP literal unless the registry is that same host.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hatch_krust.errors import AuthError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "check_realm",
    "host_of",
    "http_allowed",
    "insecure_hosts",
    "is_loopback",
    "same_origin",
]

ENV_INSECURE = "KRUST_INSECURE_REGISTRIES"  # named in messages; the CLI reads it, not this


def insecure_hosts(names: Iterable[str]) -> frozenset[str]:
    """The hosts `Options.insecure` names, normalised: lower case, no `http://`, no `/`.

    The caller says which hosts (the config's `insecure-registries`, or the CLI's flags
    and `KRUST_INSECURE_REGISTRIES` read at its edge): nothing here reads the environment.
    """
    return frozenset(n.strip().lower().removeprefix("http://").rstrip("/") for n in names if n)


def _hostname(host: str) -> str:
    """`host` without port and IPv6 brackets."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """True for localhost, *.localhost, 127.0.0.0/8 and ::1 (with or without port)."""
    name = _hostname(host).lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def http_allowed(host: str, resolve: Callable[..., Any] = socket.getaddrinfo) -> bool:
    """True when `host` may use plain http without being named insecure: a loopback IP
    literal, or `localhost` / `*.localhost` resolving to loopback addresses only."""
    name = _hostname(host).lower()
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if not is_loopback(name):
        return False
    try:
        infos = resolve(name, None)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]).partition("%")[0] for info in infos}
    try:
        return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
    except ValueError:
        return False


def _is_internal_ip(name: str) -> bool:
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified


def host_of(url: str) -> str:
    """`host[:port]` of a URL, lower case, default ports dropped."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


def same_origin(url: str, base: str) -> bool:
    """True when `url` has the scheme, host and port of `base`."""
    return urlsplit(url).scheme == urlsplit(base).scheme and host_of(url) == host_of(base)


def check_realm(
    realm: str, registry_url: str, *, http_allowed: bool, insecure: Iterable[str] = ()
) -> None:
    """Refuse a token realm that would downgrade to http or reach an internal address.

    `http_allowed` is the registry's own rule; a plain-http realm must pass that rule for
    its own host (the registry's host, a loopback one, or one listed insecure): a
    `localhost:5000` forwarded to a remote registry must not send Basic credentials in
    cleartext to whatever realm it names. `insecure`: hosts the caller lists as
    insecure, besides KRUST_INSECURE_REGISTRIES.
    """
    parts = urlsplit(realm)
    registry = host_of(registry_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        message = f"Registry {registry} sent an unusable token realm (not an http(s) URL)"
        raise AuthError(message)
    if parts.scheme == "http" and not (
        http_allowed and _realm_may_use_http(realm, registry, insecure)
    ):
        message = (
            f"Registry {registry} asked for credentials at a plain-http token server "
            f"({host_of(realm)}); refused. Use https, or list {host_of(realm)} in "
            f"{ENV_INSECURE} if it is a trusted test server"
        )
        raise AuthError(message)
    if _is_internal_ip(parts.hostname) and not http_allowed and host_of(realm) != registry:
        message = (
            f"Registry {registry} sent a token realm on an internal address "
            f"({host_of(realm)}); refused"
        )
        raise AuthError(message)


def _realm_may_use_http(realm: str, registry: str, insecure: Iterable[str]) -> bool:
    """The registry's http rule applied to the realm's host: the same host name, or one
    that is loopback (by address) or listed insecure."""
    realm_host = host_of(realm)
    if _hostname(realm_host) == _hostname(registry):
        return True
    listed = insecure_hosts(insecure)
    return realm_host in listed or _hostname(realm_host) in listed or http_allowed(realm_host)
