"""Faults a real registry will not produce on demand, from an in-process fake (MockTransport)."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx
import pytest

from hatch_krust.errors import AuthError, ImageError, RegistryError
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.registry import (
    Credentials,
    auth,
    fetch_blob,
    pull_image,
    pull_manifest,
    push_layout,
)
from hatch_krust.registry.client import Registry
from hatch_krust.registry.manifests import get_manifest
from tests.infra.registry import random_image
from tests.registry.fake import Fake, sha256

if TYPE_CHECKING:
    from pathlib import Path

HOST = "registry.example"
REALM = "https://auth.example/token"


def blob_puts(fake: Fake) -> list[httpx.Request]:
    return [r for r in fake.requests if r.method == "PUT" and "/manifests/" not in r.url.path]


def test_push_with_token_auth_sends_bearer_only_to_registry(layout: Layout) -> None:
    fake = Fake(token_realm=REALM, location_style="other-host")
    descriptor = random_image(layout, tag="v1")
    assert push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options()) \
        == descriptor.digest
    uploads = [r for r in fake.requests if r.url.host == "uploads.example"]
    assert uploads
    assert all("Authorization" not in r.headers for r in uploads)
    registry = [r for r in fake.requests if r.url.host == HOST and r.url.path != "/v2/"]
    assert all(r.headers["Authorization"].startswith("Bearer tok") for r in registry)
    token_requests = [r for r in fake.requests if r.url.host == "auth.example"]
    assert len(token_requests) == 1  # cached for the whole push
    assert token_requests[0].url.params.get_list("scope") == ["repository:app:pull,push"]


def test_redirect_to_other_host_carries_no_authorization(tmp_path: Path) -> None:
    fake = Fake(token_realm=REALM)
    _, manifest = fake.store_image("app:v1", [os.urandom(1000)])
    layer = Descriptor.from_json(json.loads(manifest)["layers"][0])

    def redirect(request: httpx.Request) -> httpx.Response | None:
        if "Authorization" not in request.headers:
            return None
        return httpx.Response(307, headers={
            "Location": f"https://cdn.example/cdn/{layer.digest}?X-Amz-Signature=abc"})

    fake.override[("GET", "blob")] = redirect
    layout = Layout.create(tmp_path / "l")
    fetch_blob(f"{HOST}/app:v1", layer, layout, options=fake.options())
    assert layout.has_blob(layer.digest)
    cdn = [r for r in fake.requests if r.url.host == "cdn.example"]
    assert len(cdn) == 1
    assert "Authorization" not in cdn[0].headers


def test_redirect_downgrade_to_http_refused(tmp_path: Path) -> None:
    fake = Fake()
    _, manifest = fake.store_image("app:v1", [b"x" * 10])
    layer = Descriptor.from_json(json.loads(manifest)["layers"][0])
    fake.override[("GET", "blob")] = lambda r: httpx.Response(
        302, headers={"Location": f"http://cdn.example/cdn/{layer.digest}"})
    with pytest.raises(RegistryError, match="plain http"):
        fetch_blob(f"{HOST}/app:v1", layer, Layout.create(tmp_path / "l"),
                   options=fake.options())


def test_plain_http_realm_refused_for_https_registry(layout: Layout) -> None:
    fake = Fake(token_realm="http://auth.example/token")
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(AuthError, match="plain-http token server"):
        push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options())
    assert not [r for r in fake.requests if r.url.host == "auth.example"]


def test_internal_realm_refused(layout: Layout) -> None:
    fake = Fake(token_realm="https://169.254.169.254/token")
    with pytest.raises(AuthError, match="internal address"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options())


@pytest.mark.parametrize("style", ["relative", "absolute", "path-relative", "other-host"])
def test_location_forms_followed_with_query_kept(layout: Layout, style: str) -> None:
    fake = Fake(location_style=style)
    descriptor = random_image(layout, tag="v1")
    push_layout(layout, descriptor, f"{HOST}/team/app:v1", options=fake.options())
    puts = blob_puts(fake)
    assert len(puts) == 3
    for request in puts:
        query = request.url.params
        assert query["digest"].startswith("sha256:")
        if style == "other-host":
            assert request.url.host == "uploads.example"
            assert query["X-Amz-Signature"] == "S1GNATURE"
        else:
            assert request.url.path.startswith("/v2/team/app/blobs/uploads/")
            assert query["_state"] == "S3CRET"
        assert int(request.headers["Content-Length"]) == len(request.content)
    assert fake.manifests["v1"][0] == layout.read_blob(descriptor.digest)


def test_mount_202_continues_with_that_session(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, tag="v1")
    push_layout(layout, descriptor, f"{HOST}/app:v1", mount_from="other",
                options=fake.options())
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 3
    assert all(r.url.params["from"] == "other" for r in posts)
    assert len(blob_puts(fake)) == 3


def test_mount_201_uploads_nothing(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, tag="v1")
    for d in Layout.open(layout.root).read_json(descriptor.digest)["layers"]:
        fake.blobs[d["digest"]] = layout.read_blob(d["digest"])  # "in the other repository"
    fake.override[("POST", "uploads")] = lambda r: (
        httpx.Response(201, headers={"Location": "/v2/app/blobs/x"})
        if r.url.params.get("mount") in fake.blobs else None)
    fake.override[("HEAD", "blob")] = lambda r: httpx.Response(404)
    push_layout(layout, descriptor, f"{HOST}/app:v1", mount_from="other",
                options=fake.options())
    assert len(blob_puts(fake)) == 1  # only the config


def test_mount_refused_falls_back_to_upload(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, tag="v1")
    fake.override[("POST", "uploads")] = lambda r: (
        httpx.Response(403, json={"errors": [{"code": "DENIED", "message": "no"}]})
        if "mount" in r.url.params else None)
    push_layout(layout, descriptor, f"{HOST}/app:v1", mount_from="other",
                options=fake.options())
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) == 6  # each blob: refused mount, then a plain POST
    assert len(blob_puts(fake)) == 3


def test_429_with_retry_after_is_honoured(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, tag="v1")
    calls: list[float] = []

    def busy(request: httpx.Request) -> httpx.Response | None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"},
                                  json={"errors": [{"code": "TOOMANYREQUESTS", "message": "x"}]})
        return None

    fake.override[("HEAD", "manifest")] = busy
    push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options())
    assert calls[1] - calls[0] >= 0.95


def test_500_then_success_is_retried(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, layers=1, tag="v1")
    failed: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response | None:
        if not failed:
            failed.append(request.url.path)
            return httpx.Response(500, text="boom")
        return None

    fake.override[("PUT", "session")] = flaky
    assert push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options()) \
        == descriptor.digest
    assert len(blob_puts(fake)) == 3  # one failed, then both blobs
    assert len([r for r in fake.requests if r.method == "POST"]) == 3  # whole sequence again


def test_connection_reset_during_upload_is_retried(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, layers=1, size=300_000, tag="v1")
    resets: list[int] = []

    def reset(request: httpx.Request) -> httpx.Response | None:
        if len(request.content) > 100_000 and not resets:
            resets.append(1)
            message = "connection reset by peer"
            raise httpx.WriteError(message, request=request)
        return None

    fake.override[("PUT", "session")] = reset
    assert push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options()) \
        == descriptor.digest
    assert resets == [1]


def test_upload_failing_for_good_pushes_no_manifest_and_no_tag(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, tag="v1")
    fake.override[("PUT", "session")] = lambda r: httpx.Response(
        503, headers={"Retry-After": "0"}, text="down")
    with pytest.raises(RegistryError, match="503") as info:
        push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options())
    assert not [r for r in fake.requests if "/manifests/" in r.url.path and r.method == "PUT"]
    assert "S3CRET" not in str(info.value)  # the session's _state is redacted


def test_non_retryable_error_is_not_retried(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, layers=1, tag="v1")
    fake.override[("PUT", "session")] = lambda r: httpx.Response(
        400, json={"errors": [{"code": "DIGEST_INVALID", "message": "bad digest"}]})
    with pytest.raises(RegistryError, match="DIGEST_INVALID"):
        push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options(jobs=1))
    assert len(blob_puts(fake)) == 1


def test_chunked_upload_recovers_through_session_get(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, layers=1, size=10_000, tag="v1")
    patches: list[str] = []

    def flaky_patch(request: httpx.Request) -> httpx.Response | None:
        patches.append(request.headers["Content-Range"])
        if len(patches) == 3:
            fake.patch_session(request)  # the data arrived, the answer was lost
            return httpx.Response(502)
        return None

    fake.override[("PATCH", "session")] = flaky_patch
    options = fake.options(chunked_threshold=4096, chunk_size=3000)
    push_layout(layout, descriptor, f"{HOST}/app:v1", options=options)
    assert patches == ["0-2999", "3000-5999", "6000-8999", "9000-9999"]
    assert [r.method for r in fake.requests].count("GET") >= 1
    layer = layout.read_json(descriptor.digest)["layers"][0]["digest"]
    assert fake.blobs[layer] == layout.read_blob(layer)


def test_digest_mismatch_on_blob_pull_is_an_error(tmp_path: Path) -> None:
    fake = Fake()
    _, manifest = fake.store_image("app:v1", [b"a" * 100])
    layer = Descriptor.from_json(json.loads(manifest)["layers"][0])
    fake.blobs[layer.digest] = b"b" * 100
    target = Layout.create(tmp_path / "l")
    with pytest.raises(ImageError, match="does not match"):
        fetch_blob(f"{HOST}/app:v1", layer, target, options=fake.options())
    assert not target.has_blob(layer.digest)


def test_digest_mismatch_on_manifest_by_digest_is_an_error() -> None:
    fake = Fake()
    digest, manifest = fake.store_image("app:v1", [b"a"])
    fake.manifests[digest] = (manifest.replace(b"amd64", b"arm64") + b" ", fake.manifests[
        digest][1])
    with pytest.raises(ImageError, match="does not match its digest"):
        pull_manifest(f"{HOST}/app@{digest}", options=fake.options())


def test_wrong_docker_content_digest_by_tag_is_an_error() -> None:
    fake = Fake()
    fake.store_image("app:v1", [b"a"])
    fake.override[("GET", "manifest")] = lambda r: httpx.Response(
        200, content=fake.manifests["v1"][0] if "v1" in fake.manifests else b"",
        headers={"Content-Type": fake.manifests["app:v1"][1],
                 "Docker-Content-Digest": "sha256:" + "0" * 64})
    fake.manifests["v1"] = fake.manifests["app:v1"]
    with pytest.raises(ImageError, match="as the digest"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options())


@pytest.mark.parametrize("declared", [True, False])
def test_manifest_over_4_mib_is_refused(declared: bool) -> None:
    fake = Fake()
    big = json.dumps({"schemaVersion": 2, "manifests": [], "annotations": {
        "x": "y" * (4 * 1024 * 1024 + 10)}}).encode()

    def huge(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
        if declared:
            return httpx.Response(200, content=big, headers=headers)
        return httpx.Response(200, content=iter([big[i:i + 65536]
                                                 for i in range(0, len(big), 65536)]),
                              headers=headers)

    fake.override[("GET", "manifest")] = huge
    with pytest.raises(ImageError, match="larger than 4 MiB"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options())


def test_ambiguous_manifest_refused() -> None:
    fake = Fake()
    document = json.dumps({"schemaVersion": 2, "manifests": [], "layers": [],
                           "config": {"mediaType": "x", "digest": sha256(b""), "size": 0}})
    fake.manifests["v1"] = (document.encode(), "application/vnd.oci.image.index.v1+json")
    with pytest.raises(ImageError, match="both"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options())


def test_media_type_and_content_type_mismatch_refused() -> None:
    fake = Fake()
    _, manifest = fake.store_image("app:v1", [b"a"])
    fake.manifests["v1"] = (manifest, "application/vnd.oci.image.index.v1+json")
    with pytest.raises(ImageError, match="ambiguous"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options())


def test_insufficient_scope_gets_one_retry_with_that_scope() -> None:
    fake = Fake(token_realm=REALM)
    fake.store_image("app:v1", [b"a"])
    fake.manifests["v1"] = fake.manifests["app:v1"]
    seen: list[str] = []

    def needs_more(request: httpx.Request) -> httpx.Response | None:
        seen.append(request.headers.get("Authorization", ""))
        if len(seen) == 1:
            return httpx.Response(401, headers={"WWW-Authenticate": (
                f'Bearer realm="{REALM}",service="fake",scope="repository:extra:pull",'
                'error="insufficient_scope"')})
        return None

    fake.override[("GET", "manifest")] = needs_more
    pull_manifest(f"{HOST}/app:v1", options=fake.options())
    token_requests = [r for r in fake.requests if r.url.host == "auth.example"]
    assert [r.url.params.get_list("scope") for r in token_requests] == [
        ["repository:app:pull"], ["repository:extra:pull", "repository:app:pull"]]
    assert seen[0] != seen[1]


def test_persistent_401_is_a_clear_auth_error() -> None:
    fake = Fake(token_realm=REALM)
    fake.override[("GET", "manifest")] = lambda r: fake._challenge()
    with pytest.raises(AuthError, match=f"Unauthorized: registry {HOST}"):
        pull_manifest(f"{HOST}/app:v1", options=fake.options())


def test_manifest_put_digest_checked(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, tag="v1")
    fake.override[("PUT", "manifest")] = lambda r: httpx.Response(
        201, headers={"Docker-Content-Digest": "sha256:" + "1" * 64})
    with pytest.raises(RegistryError, match="stored manifest"):
        push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options())


def test_pull_image_selects_platform(tmp_path: Path) -> None:
    fake = Fake()
    amd, amd_bytes = fake.store_image("amd", [b"amd"])
    arm, arm_bytes = fake.store_image("arm", [b"arm"])
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd,
         "size": len(amd_bytes), "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm,
         "size": len(arm_bytes), "platform": {"os": "linux", "architecture": "arm64",
                                              "variant": "v8"}}]}).encode()
    fake.manifests["v1"] = (index, "application/vnd.oci.image.index.v1+json")
    target = Layout.create(tmp_path / "l")
    pulled = pull_image(f"{HOST}/app:v1", target, platform="linux/arm64", options=fake.options())
    assert pulled.manifest.digest == arm
    with pytest.raises(ImageError, match="no image for platform linux/s390x"):
        pull_image(f"{HOST}/app:v1", target, platform="linux/s390x", options=fake.options())


def test_identity_token_uses_oauth2_refresh_grant() -> None:
    fake = Fake(token_realm=REALM)
    fake.store_image("app:v1", [b"a"])
    fake.manifests["v1"] = fake.manifests["app:v1"]
    options = fake.options(credentials=Credentials(identity_token="refresh-me", source="t"))
    pull_manifest(f"{HOST}/app:v1", options=options)
    (token_request,) = [r for r in fake.requests if r.url.host == "auth.example"]
    assert token_request.method == "POST"
    form = parse_qs(token_request.content.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["refresh-me"]
    assert form["scope"] == ["repository:app:pull"]
    assert form["service"] == ["fake"]


def test_registry_token_is_sent_as_is() -> None:
    fake = Fake(token_realm=REALM)
    fake.store_image("app:v1", [b"a"])
    fake.manifests["v1"] = fake.manifests["app:v1"]
    options = fake.options(credentials=Credentials(registry_token="tok-direct", source="t"))
    pull_manifest(f"{HOST}/app:v1", options=options)
    assert not [r for r in fake.requests if r.url.host == "auth.example"]
    manifest_get = next(r for r in fake.requests if "/manifests/" in r.url.path)
    assert manifest_get.headers["Authorization"] == "Bearer tok-direct"


def test_upload_location_downgrade_to_http_refused(layout: Layout) -> None:
    fake = Fake()
    descriptor = random_image(layout, layers=1, tag="v1")
    fake.override[("POST", "uploads")] = lambda r: httpx.Response(
        202, headers={"Location": "http://uploads.example/up/" + "a" * 32})
    with pytest.raises(RegistryError, match="not https"):
        push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options())
    assert not [r for r in fake.requests if r.url.host == "uploads.example"]


def test_challenge_on_a_repository_when_the_ping_was_open() -> None:
    fake = Fake(token_realm=REALM)
    fake.store_image("app:v1", [b"a"])
    fake.manifests["v1"] = fake.manifests["app:v1"]
    fake.override[("GET", "ping")] = lambda r: httpx.Response(200, json={})
    assert pull_manifest(f"{HOST}/app:v1", options=fake.options()).media_type.endswith("json")
    assert [r.url.host for r in fake.requests].count("auth.example") == 1


def test_tokens_are_cached_until_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Fake(token_realm=REALM)
    fake.store_image("app:v1", [b"a"])
    fake.manifests["v1"] = fake.manifests["app:v1"]
    now = [1000.0]
    monkeypatch.setattr(auth, "_now", lambda: now[0])
    options = fake.options()
    pull_manifest(f"{HOST}/app:v1", options=options)
    pull_manifest(f"{HOST}/app:v1", options=options)  # new Registry: a new token
    assert fake.tokens_issued == 2
    with Registry(HOST, options) as registry:
        get_manifest(registry, "app", "v1")
        get_manifest(registry, "app", "v1")
        assert fake.tokens_issued == 3  # cached within one connection
        now[0] += 295  # expires_in is 300; refreshed shortly before
        get_manifest(registry, "app", "v1")
        assert fake.tokens_issued == 4


def test_httpx_request_logs_are_redacted(layout: Layout, caplog: pytest.LogCaptureFixture) -> None:
    fake = Fake(location_style="other-host")
    descriptor = random_image(layout, layers=1, tag="v1")
    with caplog.at_level("DEBUG"):
        push_layout(layout, descriptor, f"{HOST}/app:v1", options=fake.options())
    text = caplog.text
    assert "uploads.example" in text  # the requests were logged ...
    assert "S1GNATURE" not in text  # ... without the pre-signed query values
