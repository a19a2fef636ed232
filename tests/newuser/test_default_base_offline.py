"""The README's first snippet leaves the base at its default, cgr.dev/chainguard/static,
which needs the internet. Offline, the message now says what to do about it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hatch_krust.building.bases
from hatch_krust.building.bases import BaseOpener
from hatch_krust.config import DEFAULT_BASE_IMAGE
from hatch_krust.errors import RegistryError, TransportFailure
from hatch_krust.oci.descriptor import Platform
from tests.heard import Heard


def unreachable(location: Any, *args: Any, **kwargs: Any) -> Any:
    host = str(location).split("/", 1)[0]
    message = f"Cannot talk to registry {host} (GET https://{host}/v2/): ConnectError: unknown host"
    raise TransportFailure(message, temporary=False)


@pytest.mark.parametrize("spec", [DEFAULT_BASE_IMAGE, "registry.example/team/base:1"])
def test_an_unreachable_base(
    spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hatch_krust.building.bases, "pull_base", unreachable)
    platform = Platform(os="linux", architecture="amd64")
    bases = BaseOpener(spec, tmp_path, (), Heard(), {})
    with pytest.raises(RegistryError) as caught:
        bases.opened(platform)
    message = str(caught.value)
    assert message.startswith("Cannot talk to registry")
    hint = 'is the default base image and needs internet access: set `base-image = "scratch"`'
    assert (hint in message) == (spec == DEFAULT_BASE_IMAGE)
