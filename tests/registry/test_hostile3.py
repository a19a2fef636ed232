"""Hostile registries, round 3 (issue 21 items 1, 3, 5, 12): an in-process fake for what a
real registry will not do on demand (bombs, drips, forged error texts)."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from hatch_krust.errors import AuthError, HTTPError, RegistryError
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.registry import fetch_blob, pull_manifest
from hatch_krust.registry.client import Registry, raise_for_status
from hatch_krust.registry.credentials import Credentials
from hatch_krust.registry.security import check_realm
from tests.registry.fake import Fake

if TYPE_CHECKING:
    from pathlib import Path

HOST = "registry.example"


# -- item 1: a Content-Encoding bomb on a buffered response --------------------------------


def _bomb(decoded: int) -> bytes:
    return gzip.compress(b"\0" * decoded, compresslevel=9)


def test_a_gzip_bomb_on_the_ping_is_decoded_within_the_cap() -> None:
    bomb = _bomb(256 << 20)  # ~256 KiB on the wire, 256 MiB decoded
    fake = Fake()
    fake.override[("GET", "ping")] = lambda r: httpx.Response(
        200, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        stream=httpx.ByteStream(bomb))
    tracemalloc.start()
    try:
        with Registry(HOST, fake.options()) as registry:
            response = registry.request("GET", "/v2/", scopes=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(response.content) <= 4 << 20
    assert peak < 64 << 20, f"decoding the ping took {peak >> 20} MiB"


def test_a_gzip_bomb_in_an_error_body_is_decoded_within_the_cap() -> None:
    body = json.dumps({"errors": [{"code": "DENIED", "message": "x" * 100}]}).encode()
    bomb = gzip.compress(body + b" " * (200 << 20))
    fake = Fake()
    fake.store_image("app:v1", [b"a"])
    fake.override[("GET", "manifest")] = lambda r: httpx.Response(
        400, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(bomb))
    tracemalloc.start()
    try:
        with pytest.raises(HTTPError):
            pull_manifest(f"{HOST}/app:v1", options=fake.options())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"reading the error took {peak >> 20} MiB"


def test_a_gzip_body_within_the_cap_is_still_decoded() -> None:
    document = {"fine": "x" * 1000}
    fake = Fake()
    fake.override[("GET", "ping")] = lambda r: httpx.Response(
        200, headers={"Content-Encoding": "gzip"},
        stream=httpx.ByteStream(gzip.compress(json.dumps(document).encode())))
    with Registry(HOST, fake.options()) as registry:
        assert registry.request("GET", "/v2/", scopes=None).json() == document


# -- item 3: a plain-http realm only where that host may use http --------------------------


@pytest.mark.parametrize("realm", [
    "http://auth.example.com/token",
    "http://203.0.113.5:5001/token",
    "http://localhost.example.com/token",
])
def test_a_loopback_registry_may_not_send_credentials_to_a_remote_http_realm(
    realm: str,
) -> None:
    with pytest.raises(AuthError, match="plain-http token server"):
        check_realm(realm, "http://localhost:5000", http_allowed=True)


@pytest.mark.parametrize("realm", [
    "http://localhost:5000/token",
    "http://127.0.0.1:5001/token",
    "https://auth.example.com/token",
])
def test_a_loopback_registry_keeps_its_own_or_a_loopback_http_realm(realm: str) -> None:
    check_realm(realm, "http://localhost:5000", http_allowed=True)


def test_an_insecure_registry_may_use_its_own_host_over_http() -> None:
    check_realm("http://reg.test:5000/token", "http://reg.test:5000", http_allowed=True)
    check_realm("http://reg.test/token", "http://reg.test:5000", http_allowed=True)
    with pytest.raises(AuthError, match="plain-http"):
        check_realm("http://other.test/token", "http://reg.test:5000", http_allowed=True)


def test_an_insecure_realm_host_in_the_options_is_allowed() -> None:
    check_realm("http://auth.test/token", "http://reg.test:5000", http_allowed=True,
                insecure=frozenset({"auth.test"}))
    with pytest.raises(AuthError, match="plain-http"):
        check_realm("http://auth.test/token", "http://reg.test:5000", http_allowed=True,
                    insecure=frozenset({"other.test"}))


def test_a_registry_forwarded_to_a_remote_one_sends_no_basic_credentials_in_clear() -> None:
    """`localhost:5000` forwarded to a registry whose realm is plain http on its own host:
    the token request is never sent."""
    fake = Fake(host="localhost", token_realm="http://auth.remote.example/token")
    fake.store_image("v1", [b"a"])
    credentials = Credentials("alice", "s3cr3tpw")
    with pytest.raises(AuthError, match="plain-http token server"):
        pull_manifest("localhost:5000/app:v1",
                      options=fake.options(credentials=credentials))
    assert not [r for r in fake.requests if r.url.host == "auth.remote.example"]


# -- item 5: registry error texts are shown with control characters escaped ---------------


def test_registry_error_texts_are_escaped() -> None:
    forged = "\x1b]0;pwned\x07\x1b[32mdone\r\x1b[2KPushed OK\n\u202e"
    body = {"errors": [{"code": "DENIED\x1b[31m", "message": forged}]}
    request = httpx.Request("GET", f"https://{HOST}/v2/app/manifests/v1")
    for status, kind in ((400, HTTPError), (403, AuthError)):
        response = httpx.Response(status, json=body, request=request)
        with pytest.raises(kind) as caught:
            raise_for_status(response, "reading a manifest")
        message = str(caught.value)
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c == "\u202e" for c in message)
        assert "\\x1b]0;pwned" in message and "\\r" in message and "Pushed OK" in message


# -- item 12: a dripping blob meets a deadline scaled to its size --------------------------


class _Dripping(httpx.SyncByteStream):
    def __init__(self, data: bytes, every: float) -> None:
        self.data, self.every = data, every

    def __iter__(self) -> Iterator[bytes]:
        for byte in self.data:
            time.sleep(self.every)
            yield bytes([byte])


def test_a_dripped_blob_meets_a_deadline(tmp_path: Path) -> None:
    fake = Fake()
    data = b"a" * 200
    _, manifest = fake.store_image("app:v1", [data])
    layer = Descriptor.from_json(json.loads(manifest)["layers"][0])
    fake.override[("GET", "blob")] = lambda r: httpx.Response(
        200, stream=_Dripping(data, 0.05))  # 10 s in all
    options = fake.options(blob_min_rate=1000, blob_grace=0.5)
    started = time.monotonic()
    with pytest.raises(RegistryError, match="slower than"):
        fetch_blob(f"{HOST}/app:v1", layer, Layout.create(tmp_path / "l"), options=options)
    assert time.monotonic() - started < 4.0


def test_a_blob_at_a_fair_rate_is_not_cut(tmp_path: Path) -> None:
    fake = Fake()
    data = b"b" * 20
    _, manifest = fake.store_image("app:v1", [data])
    layer = Descriptor.from_json(json.loads(manifest)["layers"][0])
    fake.override[("GET", "blob")] = lambda r: httpx.Response(
        200, stream=_Dripping(data, 0.01))
    options = fake.options(blob_min_rate=1000, blob_grace=2.0)
    layout = Layout.create(tmp_path / "l")
    fetch_blob(f"{HOST}/app:v1", layer, layout, options=options)
    assert layout.has_blob(layer.digest)
