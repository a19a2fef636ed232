"""An in-process fake registry (an httpx.MockTransport handler) for faults on demand.

Only for what a real registry will not do when asked: redirects to other hosts, odd
`Location` forms, 429s, 500s, wrong digests, oversized manifests. One method per route;
a test overrides a route by setting `fake.override[(METHOD, kind)]`.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

from hatch_krust.registry import Options, RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response | None]

_BLOB = re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>sha256:[a-f0-9]{64})$")
_UPLOADS = re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/$")
_SESSION = re.compile(r"/(?P<session>[a-f0-9]{32})$")
_MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")

FAST_RETRY = RetryPolicy(attempts=4, base=0.01, cap=0.05, retry_after_cap=5, total=30)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Fake:
    """State of the fake registry at https://registry.example."""

    host: str = "registry.example"
    token_realm: str | None = None  # Bearer auth when set
    location_style: str = "relative"  # relative | absolute | path-relative | other-host
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    sessions: dict[str, bytearray] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    override: dict[tuple[str, str], Handler] = field(default_factory=dict)
    tokens_issued: int = 0

    def options(self, **kwargs: object) -> Options:
        kwargs.setdefault("retry", FAST_RETRY)
        return Options(transport=httpx.MockTransport(self), **kwargs)  # type: ignore[arg-type]

    # -- dispatch ----------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        kind = self._kind(request)
        hook = self.override.get((request.method, kind))
        if hook is not None:
            response = hook(request)
            if response is not None:
                return response
        if kind == "token":
            return self.token(request)
        if kind not in ("ping", "other-host") and not self._authorized(request):
            return self._challenge()
        return getattr(self, f"{request.method.lower()}_{kind}".replace("-", "_"),
                       self.not_found)(request)

    def _kind(self, request: httpx.Request) -> str:
        path = request.url.path
        if self.token_realm and str(request.url).startswith(self.token_realm):
            return "token"
        if request.url.host != self.host:
            return "other-host"
        if path == "/v2/":
            return "ping"
        if _UPLOADS.match(path):
            return "uploads"
        if _SESSION.search(path):
            return "session"
        if _BLOB.match(path):
            return "blob"
        if _MANIFEST.match(path):
            return "manifest"
        return "unknown"

    def _authorized(self, request: httpx.Request) -> bool:
        if self.token_realm is None:
            return True
        return bool(request.headers.get("Authorization", "").startswith("Bearer tok"))

    def _challenge(self) -> httpx.Response:
        header = f'Bearer realm="{self.token_realm}",service="fake"'
        return httpx.Response(401, headers={"WWW-Authenticate": header},
                              json={"errors": [{"code": "UNAUTHORIZED", "message": "auth"}]})

    def not_found(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": "no"}]})

    # -- routes ------------------------------------------------------------------------------

    def get_ping(self, request: httpx.Request) -> httpx.Response:
        if self.token_realm and not self._authorized(request):
            return self._challenge()
        return httpx.Response(200, json={})

    def token(self, request: httpx.Request) -> httpx.Response:
        self.tokens_issued += 1
        return httpx.Response(200, json={"token": f"tok{self.tokens_issued}", "expires_in": 300})

    def head_blob(self, request: httpx.Request) -> httpx.Response:
        digest = _BLOB.match(request.url.path)["digest"]  # type: ignore[index]
        if digest in self.blobs:
            return httpx.Response(200, headers={"Content-Length": str(len(self.blobs[digest])),
                                                "Docker-Content-Digest": digest})
        return httpx.Response(404)

    def get_blob(self, request: httpx.Request) -> httpx.Response:
        digest = _BLOB.match(request.url.path)["digest"]  # type: ignore[index]
        if digest not in self.blobs:
            return self.not_found(request)
        return httpx.Response(200, content=self.blobs[digest])

    def post_uploads(self, request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode())
        if "mount" in query:
            return httpx.Response(202, headers={"Location": self._new_session(request)})
        return httpx.Response(202, headers={"Location": self._new_session(request)})

    def _new_session(self, request: httpx.Request) -> str:
        session = uuid.uuid4().hex
        self.sessions[session] = bytearray()
        repo = _UPLOADS.match(request.url.path)["repo"]  # type: ignore[index]
        if self.location_style == "absolute":
            return f"https://{self.host}/v2/{repo}/blobs/uploads/{session}?_state=S3CRET"
        if self.location_style == "path-relative":
            return f"{session}?_state=S3CRET"
        if self.location_style == "other-host":
            return f"https://uploads.example/up/{session}?X-Amz-Signature=S1GNATURE"
        return f"/v2/{repo}/blobs/uploads/{session}?_state=S3CRET"

    def _session(self, request: httpx.Request) -> str:
        return _SESSION.search(request.url.path)["session"]  # type: ignore[index]

    def put_session(self, request: httpx.Request) -> httpx.Response:
        session = self._session(request)
        data = bytes(self.sessions.pop(session, bytearray())) + request.content
        digest = parse_qs(request.url.query.decode())["digest"][0]
        if sha256(data) != digest:
            return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID",
                                                         "message": "digest"}]})
        self.blobs[digest] = data
        return httpx.Response(201, headers={"Docker-Content-Digest": digest,
                                            "Location": f"/v2/x/blobs/{digest}"})

    put_other_host = put_session

    def get_other_host(self, request: httpx.Request) -> httpx.Response:
        """A CDN: `/cdn/<digest>` serves that blob to anyone."""
        digest = request.url.path.rpartition("/")[2]
        return httpx.Response(200, content=self.blobs[digest])

    def patch_session(self, request: httpx.Request) -> httpx.Response:
        session = self._session(request)
        start = int(request.headers.get("Content-Range", "0-0").split("-")[0])
        if start != len(self.sessions[session]):
            return httpx.Response(416)
        self.sessions[session] += request.content
        end = len(self.sessions[session]) - 1
        return httpx.Response(202, headers={"Range": f"0-{end}",
                                            "Location": str(request.url.copy_with(query=None))
                                            + "?_state=NEXT"})

    def get_session(self, request: httpx.Request) -> httpx.Response:
        size = len(self.sessions[self._session(request)])
        return httpx.Response(204, headers={"Range": f"0-{max(size - 1, 0)}",
                                            "Location": str(request.url)})

    def delete_session(self, request: httpx.Request) -> httpx.Response:
        self.sessions.pop(self._session(request), None)
        return httpx.Response(204)

    def head_manifest(self, request: httpx.Request) -> httpx.Response:
        ref = _MANIFEST.match(request.url.path)["ref"]  # type: ignore[index]
        if ref not in self.manifests:
            return httpx.Response(404)
        data, media_type = self.manifests[ref]
        return httpx.Response(200, headers={"Docker-Content-Digest": sha256(data),
                                            "Content-Type": media_type})

    def get_manifest(self, request: httpx.Request) -> httpx.Response:
        ref = _MANIFEST.match(request.url.path)["ref"]  # type: ignore[index]
        if ref not in self.manifests:
            return self.not_found(request)
        data, media_type = self.manifests[ref]
        return httpx.Response(200, content=data, headers={"Content-Type": media_type,
                                                          "Docker-Content-Digest": sha256(data)})

    def put_manifest(self, request: httpx.Request) -> httpx.Response:
        ref = _MANIFEST.match(request.url.path)["ref"]  # type: ignore[index]
        data = request.content
        self.manifests[ref] = (data, request.headers["Content-Type"])
        self.manifests[sha256(data)] = (data, request.headers["Content-Type"])
        return httpx.Response(201, headers={"Docker-Content-Digest": sha256(data)})

    # -- helpers for tests ---------------------------------------------------------------------

    def store_image(self, repo_ref: str, layers: list[bytes]) -> tuple[str, bytes]:
        """Put an image straight into the fake; returns (digest, manifest bytes)."""
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        self.blobs[sha256(config)] = config
        for layer in layers:
            self.blobs[sha256(layer)] = layer
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": sha256(layer), "size": len(layer)} for layer in layers],
        }).encode()
        media_type = "application/vnd.oci.image.manifest.v1+json"
        self.manifests[repo_ref] = (manifest, media_type)
        self.manifests[sha256(manifest)] = (manifest, media_type)
        return sha256(manifest), manifest

    def paths(self, method: str | None = None) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests
                if method is None or r.method == method]


def path_of(url: str) -> str:
    return urlsplit(url).path
