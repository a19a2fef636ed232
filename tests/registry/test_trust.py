"""One TLS context per process, its CA bundle read only for https; never less verification.

Hermetic: loopback servers in this process (plain http, and https with a self-signed
certificate from tests/infra), no registry binary.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import httpx
import pytest

from hatch_krust.errors import RegistryError, TransportFailure
from hatch_krust.registry import Options
from hatch_krust.registry.client import Registry
from tests.infra.registry import TLSFiles, make_tls

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class _Ping(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(tls: TLSFiles | None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ping)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def http_server() -> Iterator[str]:
    yield from _serve(None)


@pytest.fixture
def https_server(tls: TLSFiles) -> Iterator[str]:
    yield from _serve(tls)


@pytest.fixture
def own_ca(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tls: TLSFiles) -> Options:
    """Options with a CA setting no other test used: a Trust of its own, not loaded. (The
    process environment gets it too, for httpx's own reading.)"""
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(tls.cert.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return Options(env={"SSL_CERT_FILE": str(bundle)})


def test_plain_http_registry_never_reads_the_ca_bundle(own_ca: Options, http_server: str) -> None:
    with Registry(http_server, own_ca) as registry:
        registry.ping()
        assert registry.base == f"http://{http_server}"
        assert not registry.trust.loaded  # the https probe failed its handshake first
        assert registry.trust.context.verify_mode == ssl.CERT_REQUIRED


def test_https_registry_is_verified_with_the_bundle(own_ca: Options, https_server: str) -> None:
    with Registry(https_server, own_ca) as registry:
        registry.ping()
        assert registry.base == f"https://{https_server}"
        assert registry.trust.loaded


def test_untrusted_certificate_still_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, https_server: str
) -> None:
    other = make_tls(tmp_path / "other")  # a CA that did not sign the server's certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(other.cert))
    options = Options(env={"SSL_CERT_FILE": str(other.cert)})
    with Registry(https_server, options) as registry, pytest.raises(
        TransportFailure, match="CERTIFICATE_VERIFY_FAILED"
    ):
        registry.ping()


def test_one_context_per_process_and_ca_setting(own_ca: Options) -> None:
    first = Registry("127.0.0.1:1", own_ca)
    second = Registry("localhost:2", own_ca)
    insecure = Registry("example.test:3", Options(insecure=frozenset({"example.test:3"}),
                                                  env={}))
    try:
        assert first.trust is second.trust
        assert insecure.trust is not first.trust
        assert insecure.trust.context.verify_mode == ssl.CERT_NONE
        assert not first.trust.loaded  # made, but nothing read yet
    finally:
        for registry in (first, second, insecure):
            registry.close()


def test_loaded_context_is_the_one_httpx_makes(own_ca: Options) -> None:
    with Registry("127.0.0.1:1", own_ca) as registry:
        registry.trust.load()
        ours = registry.trust.context
    theirs = httpx.create_ssl_context()  # reads SSL_CERT_FILE, as before this change
    assert ours.verify_mode == theirs.verify_mode == ssl.CERT_REQUIRED
    assert ours.check_hostname and theirs.check_hostname
    assert ours.options == theirs.options
    assert ours.verify_flags == theirs.verify_flags
    assert ours.minimum_version == theirs.minimum_version
    assert ours.get_ca_certs() == theirs.get_ca_certs() != []


def test_https_request_loads_the_bundle_first(own_ca: Options) -> None:
    with Registry("127.0.0.1:1", own_ca) as registry:
        registry.trust.before_request(httpx.Request("GET", "http://127.0.0.1:1/v2/"))
        assert not registry.trust.loaded
        registry.trust.before_request(httpx.Request("GET", "https://127.0.0.1:1/v2/"))
        assert registry.trust.loaded


def test_a_proxy_loads_the_bundle_at_once(
    own_ca: Options, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = "https://proxy.test:3128"  # TLS to the proxy itself, whatever the request's
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    env = {**own_ca.env, "HTTPS_PROXY": proxy} if own_ca.env else {}
    with Registry("127.0.0.1:1", Options(env=env)) as registry:
        assert registry.trust.loaded


def test_without_an_environment_httpx_reads_it_as_before(own_ca: Options) -> None:
    """A library caller's `Options(env=None)`: httpx's own context, CAs read at once."""
    with Registry("127.0.0.1:1", Options()) as registry:
        assert registry.trust.loaded
        assert registry.trust.context.get_ca_certs() != []


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_an_unreadable_bundle_is_one_clear_error(tmp_path: Path, content: bytes | None) -> None:
    bundle = tmp_path / "missing.pem"
    if content is not None:
        bundle.write_bytes(content)
    options = Options(env={"SSL_CERT_FILE": str(bundle)})
    with Registry("127.0.0.1:1", options) as registry, pytest.raises(
        RegistryError, match=r"Cannot read the CA certificates at .*missing\.pem .*point "
        r"SSL_CERT_FILE at a PEM bundle"
    ):
        registry.trust.before_request(httpx.Request("GET", "https://127.0.0.1:1/v2/"))
