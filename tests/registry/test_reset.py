"""A connection reset in the middle of a blob, between us and the real registry, is retried."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hatch_krust.oci.layout import Layout
from hatch_krust.registry import Options, RetryPolicy, copy, push_layout
from tests.infra.registry import random_image
from tests.registry.proxy import ResettingProxy

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.registry import RegistryServer

pytestmark = pytest.mark.registry

FAST = Options(retry=RetryPolicy(base=0.05, cap=0.2), jobs=1)


def test_reset_while_uploading_a_blob(registry: RegistryServer, layout: Layout) -> None:
    proxy = ResettingProxy(registry.host, after=1_000_000, direction="up")
    try:
        descriptor = random_image(layout, layers=1, size=3_000_000, tag="v1")
        assert push_layout(layout, descriptor, f"{proxy.host}/reset/up:v1", options=FAST) \
            == descriptor.digest
        assert proxy.resets == 1
    finally:
        proxy.close()
    # what landed is whole: a fresh copy straight from the registry verifies every digest
    assert copy(f"{registry.host}/reset/up:v1", f"{registry.host}/reset/check:v1") \
        == descriptor.digest


def test_reset_while_downloading_a_blob(registry: RegistryServer, layout: Layout,
                                        tmp_path: Path) -> None:
    descriptor = random_image(layout, layers=1, size=3_000_000, tag="v1")
    push_layout(layout, descriptor, f"{registry.host}/reset/down:v1")
    proxy = ResettingProxy(registry.host, after=1_000_000, direction="down")
    try:
        out = tmp_path / "out"
        assert copy(f"{proxy.host}/reset/down:v1", f"oci:{out}:v1", options=FAST) \
            == descriptor.digest
        assert proxy.resets == 1
    finally:
        proxy.close()
    pulled = Layout.open(out)
    for layer in pulled.read_json(descriptor.digest)["layers"]:
        assert pulled.read_blob(layer["digest"]) == layout.read_blob(layer["digest"])
