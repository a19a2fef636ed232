"""A real registry for tests: Debian's `docker-registry` (CNCF distribution) on loopback.

Three flavours, all started and stopped by the tests themselves:

- anonymous over plain http;
- htpasswd (Basic) over TLS with a self-signed certificate (clients trust it through
  `SSL_CERT_FILE` / `--cert-dir`);
- token auth (the Docker Hub / GHCR flow) with an in-process token server that issues
  RS256 JWTs carrying the signing certificate in `x5c`.

The registry's access log (stderr) is kept, so a test can prove what was (not) requested.
Also here: `random_image` / `random_index`, small images of random bytes in a Layout.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx
import yaml  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from hatch_krust.oci.canonical import canonical_json
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.mediatypes import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hatch_krust.oci.layout import Layout

__all__ = [
    "REGISTRY_BINARY",
    "RegistryServer",
    "TLSFiles",
    "TokenServer",
    "free_port",
    "make_tls",
    "random_image",
    "random_index",
    "start_registry",
]

REGISTRY_BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- certificates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSFiles:
    cert: Path
    key: Path
    private_key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)


def make_tls(directory: Path, name: str = "127.0.0.1") -> TLSFiles:
    """A self-signed certificate for 127.0.0.1 and localhost (also a CA, for trust stores)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return TLSFiles(cert_path, key_path, key, cert)


# -- token server ----------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry tokens: users get what they ask for, anonymous gets pull only."""

    def __init__(self, tls: TLSFiles, users: dict[str, str], *, service: str, issuer: str,
                 anonymous_push: bool = False) -> None:
        self.tls, self.users, self.service, self.issuer = tls, users, service, issuer
        self.anonymous_push = anonymous_push
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                user = outer.check_user(self.headers.get("Authorization", ""))
                outer.requests.append({"user": user, "query": query})
                if user is False:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                token = outer.issue(user if isinstance(user, str) else "", query.get("scope", []))
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def check_user(self, header: str) -> str | bool | None:
        """The user name, None for anonymous, False for wrong credentials."""
        if not header.lower().startswith("basic "):
            return None
        raw = base64.b64decode(header[6:]).decode()
        user, _, password = raw.partition(":")
        return user if self.users.get(user) == password else False

    def issue(self, user: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = [a for a in actions.split(",") if a == "pull" or user or self.anonymous_push]
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        der = self.tls.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        encoded = [_b64url(json.dumps(part).encode()) for part in (header, claims)]
        signing_input = ".".join(encoded)
        signature = self.tls.private_key.sign(signing_input.encode(), padding.PKCS1v15(),
                                              hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


# -- the registry ----------------------------------------------------------------------------


class RegistryServer:
    """A running `docker-registry serve`; `host` is `127.0.0.1:PORT`."""

    def __init__(self, directory: Path, *, auth: dict[str, Any] | None = None,
                 tls: TLSFiles | None = None) -> None:
        self.directory = directory
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.log_path = directory / "registry.log"
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": str(directory / "data")},
                        "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if tls:
            config["http"]["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}
        if auth:
            config["auth"] = auth
        self.token_server: TokenServer | None = None  # set for token-auth registries
        self.config_path = directory / "config.yml"
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RegistryServer:
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(self.config_path)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                message = f"docker-registry exited: {self.log_path.read_text()[-2000:]}"
                raise RuntimeError(message)
            try:
                httpx.get(f"{self.scheme}://{self.host}/v2/", verify=False, timeout=1)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            return self
        raise RuntimeError("docker-registry did not start within 20 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    # -- access log --------------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the access log; pass it to `requests_since`."""
        return self.log_path.stat().st_size

    def requests_since(self, mark: int = 0) -> list[str]:
        """Request lines (`METHOD /path?query`) logged after `mark`."""
        time.sleep(0.1)  # the registry writes its access log line after the response
        with self.log_path.open("rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        out = []
        for line in text.splitlines():
            start = line.find('"')
            if start >= 0 and " HTTP/" in line:
                request = line[start + 1:].split(" HTTP/", 1)[0]
                if request.split(" ", 1)[0] in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}:
                    out.append(request)
        return out


def htpasswd(path: Path, users: dict[str, str]) -> Path:
    lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}"
             for u, p in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def start_registry(directory: Path, kind: str = "anonymous",
                   users: dict[str, str] | None = None) -> Iterator[RegistryServer]:
    """Run a registry of `kind` ("anonymous", "basic" over TLS, "token") until the block ends.

    For "token" the server has a `token_server` attribute; for "basic" and "token",
    `users` maps user names to passwords.
    """
    users = users or {"alice": "wonderland"}
    token: TokenServer | None = None
    tls = make_tls(directory / "tls") if kind == "basic" else None
    if kind == "anonymous":
        auth = None
    elif kind == "basic":
        auth = {"htpasswd": {"realm": "basic-realm",
                             "path": str(htpasswd(directory / "htpasswd", users))}}
    elif kind == "token":
        signer = make_tls(directory / "signer", "token-signer")
        token = TokenServer(signer, users, service="test-registry", issuer="test-issuer").start()
        auth = {"token": {"realm": token.realm, "service": token.service,
                          "issuer": token.issuer, "rootcertbundle": str(signer.cert)}}
    else:
        raise ValueError(kind)
    server = RegistryServer(directory / "registry", auth=auth, tls=tls)
    server.token_server = token
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if token is not None:
            token.stop()


# -- small images ----------------------------------------------------------------------------


def random_image(layout: Layout, *, layers: int = 2, size: int = 1024,
                 platform: Platform | None = None, tag: str | None = None,
                 shared: list[bytes] | None = None, register: bool = True) -> Descriptor:
    """An image of random-byte layers (plus any `shared` layer bytes) written to `layout`."""
    platform = platform or Platform("linux", "amd64")
    blobs = [*(shared or []), *(os.urandom(size) for _ in range(layers))]
    layer_descriptors = []
    for data in blobs:
        digest = layout.write_blob(data)
        layer_descriptors.append(Descriptor(OCI_LAYER_GZIP, digest, len(data)))
    config = {
        "architecture": platform.architecture,
        "os": platform.os,
        **({"variant": platform.variant} if platform.variant else {}),
        "config": {"Entrypoint": ["/app"]},
        "rootfs": {"type": "layers", "diff_ids": [d.digest for d in layer_descriptors]},
    }
    config_digest, config_size = layout.write_json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Descriptor(OCI_CONFIG, config_digest, config_size).to_json(),
        "layers": [d.to_json() for d in layer_descriptors],
    }
    data = canonical_json(manifest)
    descriptor = Descriptor(OCI_MANIFEST, layout.write_blob(data), len(data), platform=platform)
    if register:
        layout.add_manifest(descriptor, tag)
    return descriptor


def random_index(layout: Layout, platforms: list[Platform], *, tag: str | None = None,
                 size: int = 1024) -> Descriptor:
    """A multi-platform index of random images; only the index is in `index.json`."""
    entries = [random_image(layout, platform=p, size=size, register=False) for p in platforms]
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                "manifests": [e.to_json() for e in entries]}
    data = canonical_json(document)
    descriptor = Descriptor(OCI_INDEX, layout.write_blob(data), len(data))
    layout.add_manifest(descriptor, tag)
    return descriptor
