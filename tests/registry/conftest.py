"""Fixtures: real registries (one per kind, shared by the session) and a clean environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hatch_krust.oci.layout import Layout
from tests.infra.registry import RegistryServer, start_registry
from tests.infra.tools import require_tool

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

needs_registry = pytest.mark.registry  # the tools are required: tests/conftest.py
needs_skopeo = pytest.mark.registry

USERS = {"alice": "wonderland", "bob": "builder"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials, CA bundles or insecure hosts from the machine leak into a test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
                 "SSL_CERT_FILE", "SSL_CERT_DIR", "KRUST_INSECURE_REGISTRIES",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    return home


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    require_tool("docker-registry")
    with start_registry(tmp_path_factory.mktemp("basic"), "basic", USERS) as server:
        yield server


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    require_tool("docker-registry")
    with start_registry(tmp_path_factory.mktemp("token"), "token", USERS) as server:
        yield server


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout.create(tmp_path / "layout")
