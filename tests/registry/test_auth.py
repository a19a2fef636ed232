"""Basic (htpasswd over TLS) and token auth against the real registry, creds from every source."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from hatch_krust.errors import AuthError, RegistryError
from hatch_krust.registry import Credentials, Options, copy, pull_manifest, push_layout
from tests.infra.registry import random_image
from tests.infra.tools import require_tool
from tests.registry.test_credentials import make_helper

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.oci.layout import Layout
    from tests.infra.registry import RegistryServer

pytestmark = pytest.mark.registry


def docker_config(home: Path, host: str, user: str, password: str) -> Path:
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


@pytest.fixture
def trust(basic_registry: RegistryServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert basic_registry.tls is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(basic_registry.tls.cert))


@pytest.mark.usefixtures("trust")
def test_basic_with_docker_config(basic_registry: RegistryServer, layout: Layout,
                                  clean_env: Path) -> None:
    docker_config(clean_env, basic_registry.host, "alice", "wonderland")
    descriptor = random_image(layout, tag="v1")
    dest = f"{basic_registry.host}/basic/app:v1"
    assert push_layout(layout, descriptor, dest) == descriptor.digest
    assert pull_manifest(dest).digest == descriptor.digest
    done = subprocess.run(
        [require_tool("skopeo"), "inspect", "--raw", "--tls-verify=false", "--creds",
         "alice:wonderland", f"docker://{dest}"], capture_output=True, check=True, timeout=60)
    assert done.stdout == layout.read_blob(descriptor.digest)


@pytest.mark.usefixtures("trust")
def test_basic_with_registry_auth_file(basic_registry: RegistryServer, layout: Layout,
                                       tmp_path: Path, clean_env: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    docker_config(clean_env, basic_registry.host, "alice", "WRONG")
    auth_file = tmp_path / "auth.json"
    token = base64.b64encode(b"bob:builder").decode()
    auth_file.write_text(json.dumps({"auths": {basic_registry.host: {"auth": token}}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    descriptor = random_image(layout, tag="v1")
    assert push_layout(layout, descriptor, f"{basic_registry.host}/authfile/app:v1") \
        == descriptor.digest


@pytest.mark.usefixtures("trust")
def test_repository_specific_auths_entry_wins(basic_registry: RegistryServer, layout: Layout,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """podman lets `auths` keys name a namespace; the most specific one is used."""
    auth_file = tmp_path / "auth.json"
    good = base64.b64encode(b"bob:builder").decode()
    bad = base64.b64encode(b"bob:WRONG").decode()
    auth_file.write_text(json.dumps({"auths": {
        basic_registry.host: {"auth": bad},
        f"{basic_registry.host}/team": {"auth": good},
    }}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    descriptor = random_image(layout, tag="v1")
    assert push_layout(layout, descriptor, f"{basic_registry.host}/team/app:v1") \
        == descriptor.digest
    with pytest.raises(AuthError, match="refused the credentials"):
        push_layout(layout, descriptor, f"{basic_registry.host}/other/app:v1")


@pytest.mark.usefixtures("trust")
def test_basic_with_credential_helper(basic_registry: RegistryServer, layout: Layout,
                                      tmp_path: Path, clean_env: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    make_helper(tmp_path / "bin", "testhelper",
                f'echo "$server" >> {calls}\n'
                'echo "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"alice\\",'
                '\\"Secret\\":\\"wonderland\\"}"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    config = clean_env / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"credHelpers": {basic_registry.host: "testhelper"}}))
    descriptor = random_image(layout, tag="v1")
    assert push_layout(layout, descriptor, f"{basic_registry.host}/helper/app:v1") \
        == descriptor.digest
    assert calls.read_text().split() == [basic_registry.host]


@pytest.mark.usefixtures("trust")
def test_basic_wrong_password_is_clear(basic_registry: RegistryServer, layout: Layout,
                                       clean_env: Path) -> None:
    docker_config(clean_env, basic_registry.host, "alice", "s3cr3t-wrong")
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(AuthError) as info:
        push_layout(layout, descriptor, f"{basic_registry.host}/wrong/app:v1")
    message = str(info.value)
    assert "nauthorized" in message
    assert basic_registry.host in message
    assert "s3cr3t-wrong" not in message
    assert base64.b64encode(b"alice:s3cr3t-wrong").decode() not in message


@pytest.mark.usefixtures("trust")
def test_basic_without_credentials(basic_registry: RegistryServer, layout: Layout) -> None:
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(AuthError, match="nauthorized.*" + basic_registry.host.replace(".", r"\.")):
        push_layout(layout, descriptor, f"{basic_registry.host}/anon/app:v1")


def test_untrusted_certificate_is_refused(basic_registry: RegistryServer, layout: Layout,
                                          clean_env: Path) -> None:
    docker_config(clean_env, basic_registry.host, "alice", "wonderland")
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(RegistryError, match="SSL_CERT_FILE"):
        push_layout(layout, descriptor, f"{basic_registry.host}/untrusted/app:v1")


def test_insecure_registry_skips_verification(basic_registry: RegistryServer, layout: Layout,
                                              clean_env: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    docker_config(clean_env, basic_registry.host, "alice", "wonderland")
    monkeypatch.setenv("KRUST_INSECURE_REGISTRIES", basic_registry.host)  # not read: options are
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(RegistryError, match="SSL_CERT_FILE"):
        push_layout(layout, descriptor, f"{basic_registry.host}/insecure/app:v1")
    options = Options(insecure=frozenset({basic_registry.host}))
    assert push_layout(layout, descriptor, f"{basic_registry.host}/insecure/app:v1",
                       options=options) == descriptor.digest


def test_token_auth_push_and_anonymous_pull(token_registry: RegistryServer, layout: Layout,
                                            clean_env: Path) -> None:
    token_server = token_registry.token_server
    assert token_server is not None
    docker_config(clean_env, token_registry.host, "alice", "wonderland")
    descriptor = random_image(layout, layers=3, tag="v1")
    dest = f"{token_registry.host}/tok/app:v1"
    before = len(token_server.requests)
    assert push_layout(layout, descriptor, dest) == descriptor.digest
    requests = token_server.requests[before:]
    assert len(requests) <= 2  # cached per scope set, not one per request
    first = requests[0]
    assert first["user"] == "alice"
    assert first["query"]["service"] == ["test-registry"]
    assert first["query"]["scope"][0] == "repository:tok/app:pull,push"
    # anonymous: a token with pull only
    (clean_env / ".docker" / "config.json").unlink()
    assert pull_manifest(dest).digest == descriptor.digest
    assert token_server.requests[-1]["user"] is None


def test_token_auth_mount_asks_pull_on_source(token_registry: RegistryServer, layout: Layout,
                                              clean_env: Path) -> None:
    token_server = token_registry.token_server
    assert token_server is not None
    docker_config(clean_env, token_registry.host, "alice", "wonderland")
    descriptor = random_image(layout, tag="v1")
    push_layout(layout, descriptor, f"{token_registry.host}/tok/src:v1")
    before = len(token_server.requests)
    mark = token_registry.mark()
    push_layout(layout, descriptor, f"{token_registry.host}/tok/dst:v1", mount_from="tok/src")
    scopes = [r["query"]["scope"] for r in token_server.requests[before:]]
    assert ["repository:tok/dst:pull,push", "repository:tok/src:pull"] in scopes
    assert [line for line in token_registry.requests_since(mark) if "mount=" in line]


def test_token_auth_wrong_password(token_registry: RegistryServer, layout: Layout,
                                   clean_env: Path) -> None:
    docker_config(clean_env, token_registry.host, "alice", "hunter2-wrong")
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(AuthError) as info:
        push_layout(layout, descriptor, f"{token_registry.host}/tok/wrong:v1")
    message = str(info.value)
    assert "nauthorized" in message
    assert token_registry.host in message
    assert "hunter2" not in message


def test_token_auth_anonymous_push_refused(token_registry: RegistryServer,
                                           layout: Layout) -> None:
    descriptor = random_image(layout, tag="v1")
    with pytest.raises(AuthError, match="nauthorized") as info:
        push_layout(layout, descriptor, f"{token_registry.host}/tok/anon:v1")
    assert token_registry.host in str(info.value)


def test_explicit_credentials_override_lookup(token_registry: RegistryServer, layout: Layout,
                                              clean_env: Path) -> None:
    docker_config(clean_env, token_registry.host, "alice", "WRONG")
    descriptor = random_image(layout, tag="v1")
    options = Options(credentials=Credentials("bob", "builder", source="test"))
    assert push_layout(layout, descriptor, f"{token_registry.host}/tok/explicit:v1",
                       options=options) == descriptor.digest


@pytest.mark.usefixtures("trust")
def test_copy_between_two_registries(registry: RegistryServer,
                                     basic_registry: RegistryServer, layout: Layout,
                                     clean_env: Path) -> None:
    docker_config(clean_env, basic_registry.host, "alice", "wonderland")
    descriptor = random_image(layout, layers=2, size=200_000, tag="v1")
    push_layout(layout, descriptor, f"{registry.host}/between/src:v1")
    mark = registry.mark()
    digest = copy(f"{registry.host}/between/src:v1", f"{basic_registry.host}/between/dst:v1")
    assert digest == descriptor.digest
    assert pull_manifest(f"{basic_registry.host}/between/dst:v1").digest == descriptor.digest
    assert not [line for line in registry.requests_since(mark) if "mount=" in line]
