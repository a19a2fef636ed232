"""Hostile registry behaviour and user slips, round 2 (issue 11 items 3, 6, 8, 11; issue 12's
unknown host): an in-process fake where a real registry will not misbehave on demand."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from hatch_krust import cli
from hatch_krust.errors import AuthError, RegistryError, TransportFailure
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.registry import Options, RetryPolicy, copy, fetch_blob, pull_manifest
from hatch_krust.registry.client import Registry, transport_failure
from hatch_krust.registry.security import http_allowed
from tests.registry.fake import Fake

if TYPE_CHECKING:
    from pathlib import Path

HOST = "registry.example"
SECRET = "s3cr3tpw"
SLOW = RetryPolicy(attempts=5, base=0.5, cap=10, total=300)  # the default, as users get it


class _Stalling(httpx.SyncByteStream):
    """A body that sends `head`, then nothing until `release` is set (or `hold` seconds)."""

    def __init__(self, head: bytes, tail: bytes, release: threading.Event, hold: float) -> None:
        self.head, self.tail, self.release, self.hold = head, tail, release, hold

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        self.release.wait(self.hold)
        yield self.tail


class _Dripping(httpx.SyncByteStream):
    """A body sent one byte every `every` seconds."""

    def __init__(self, data: bytes, every: float) -> None:
        self.data, self.every = data, every

    def __iter__(self) -> Iterator[bytes]:
        for byte in self.data:
            time.sleep(self.every)
            yield bytes([byte])


def _interrupt_main_in(seconds: float) -> threading.Timer:
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    return timer


# -- item 3: Ctrl-C and deadlines ----------------------------------------------------------


def test_ctrl_c_stops_a_copy_whose_worker_is_stalled(tmp_path: Path) -> None:
    fake = Fake()
    layers = [b"a" * 50_000, b"b" * 50_000, b"c" * 50_000]
    fake.store_image("v1", layers)
    stalled = json.loads(fake.manifests["v1"][0])["layers"][1]["digest"]
    release = threading.Event()

    def stall(request: httpx.Request) -> httpx.Response | None:
        if not request.url.path.endswith(stalled):
            return None
        data = fake.blobs[stalled]
        return httpx.Response(200, stream=_Stalling(data[:10], data[10:], release, 20.0))

    fake.override[("GET", "blob")] = stall
    target = tmp_path / "out"
    timer = _interrupt_main_in(1.0)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            copy(f"{HOST}/app:v1", f"oci:{target}:v1", options=fake.options(jobs=3))
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
        release.set()
    assert elapsed < 3.0, f"Ctrl-C took {elapsed:.1f} s to stop the copy"
    index = target / "index.json"
    assert not index.exists() or json.loads(index.read_text())["manifests"] == []  # untagged


def test_a_manifest_dripped_byte_by_byte_meets_a_deadline() -> None:
    fake = Fake()
    _, manifest = fake.store_image("app:v1", [b"a"])
    media_type = fake.manifests["app:v1"][1]
    fake.override[("GET", "manifest")] = lambda r: httpx.Response(
        200, headers={"Content-Type": media_type}, stream=_Dripping(manifest, 0.05))
    started = time.monotonic()
    with pytest.raises(RegistryError, match="more than 1 s to send a small document"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options(document_timeout=1.0))
    assert time.monotonic() - started < 4.0  # the whole manifest would take ~20 s


def test_a_dripped_token_meets_a_deadline() -> None:
    fake = Fake(token_realm="https://auth.example/token")
    fake.store_image("app:v1", [b"a"])
    body = json.dumps({"token": "tok1", "expires_in": 300, "pad": "x" * 400}).encode()
    fake.override[("GET", "token")] = lambda r: httpx.Response(
        200, stream=_Dripping(body, 0.05))
    started = time.monotonic()
    with pytest.raises(AuthError, match="token server"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options(document_timeout=1.0))
    assert time.monotonic() - started < 4.0


# -- item 6: no password in any message ----------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", f"alice:{SECRET}@registry.invalid/repo:tag"],
        ["inspect", f"https://user:{SECRET}@registry.invalid/repo:tag"],
        ["inspect", f"docker://user:{SECRET}@registry.invalid/repo:tag"],
        ["copy", f"docker://user:{SECRET}@registry.invalid/a:1", "oci:/nonexistent/x"],
        ["copy", "oci:/nonexistent/x", f"user:{SECRET}@registry.invalid/b:1"],
    ],
)
def test_a_password_in_a_reference_is_never_echoed(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert status != 0
    assert "error" in err
    assert SECRET not in out + err


# -- item 8: *.localhost is loopback only when it resolves so ------------------------------


def _resolver(*addresses: str) -> object:
    def resolve(name: str, port: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses]
    return resolve


def test_a_localhost_name_resolving_elsewhere_gets_no_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert http_allowed("app.localhost:5000", resolve=_resolver("127.0.0.1", "::1"))
    assert not http_allowed("app.localhost:5000", resolve=_resolver("127.0.0.1", "203.0.113.7"))
    assert not http_allowed("app.localhost", resolve=_resolver("10.1.2.3"))
    assert http_allowed("127.0.0.1:5000") and http_allowed("[::1]:80")
    assert not http_allowed("localhost.example.com")
    monkeypatch.setattr(socket, "getaddrinfo", _resolver("198.51.100.9"))
    with Registry("evil.localhost:5000", Options(transport=httpx.MockTransport(Fake()))) as r:
        assert not r.http_allowed


# -- item 11: no progress line for a blob that failed --------------------------------------


def test_a_blob_failing_verification_gets_no_progress_line(tmp_path: Path) -> None:
    fake = Fake()
    _, manifest = fake.store_image("app:v1", [b"a" * 100])
    layer = Descriptor.from_json(json.loads(manifest)["layers"][0])
    fake.blobs[layer.digest] = b"b" * 100  # same size, wrong digest
    seen: list[tuple[int, int]] = []
    options = fake.options(progress=lambda d, done, total: seen.append((done, total)))
    with pytest.raises(Exception, match="does not match"):
        fetch_blob(f"{HOST}/app:v1", layer, Layout.create(tmp_path / "l"), options=options)
    assert (100, 100) not in seen


# -- issue 12: an unknown host or a closed port fails in seconds ---------------------------


@pytest.mark.parametrize("host", ["krust-test-no-such-host.invalid", "ko.local"])
def test_an_unknown_host_fails_in_seconds_naming_it(host: str) -> None:
    started = time.monotonic()
    with pytest.raises(TransportFailure) as caught:
        pull_manifest(f"{host}/app:1", options=Options(retry=SLOW, connect_timeout=5))
    assert time.monotonic() - started < 6.0
    message = str(caught.value)
    assert host in message
    if host == "ko.local" and "does not resolve" in message:
        assert "krust.local" in message


def test_ko_local_points_to_krust_local() -> None:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    failure = transport_failure("ko.local", "GET", "https://ko.local/v2/", error)
    assert not failure.temporary
    assert "ko.local does not resolve" in str(failure)
    assert "krust.local" in str(failure)


def test_a_refused_port_fails_in_seconds() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(TransportFailure, match="refused"):
        pull_manifest(f"127.0.0.1:{port}/app:1", options=Options(retry=SLOW))
    assert time.monotonic() - started < 3.0
