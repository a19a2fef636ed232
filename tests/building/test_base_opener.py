"""`building.bases.BaseOpener`, the build's one way to its base: what it opened is kept
per platform (linux/arm64 is linux/arm64/v8), a layout base names what the image records,
scratch is no image, and a missing layout is refused with the message the build gave
before the opener was the one path. Without a registry: the pull is replaced.
(Through a real build and registry: tests/building/test_base_opened_once.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hatch_krust.building.bases
import hatch_krust.registry.api
from hatch_krust.building.bases import BaseOpener, CachedBase
from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import BaseImage
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.platform import Platform
from hatch_krust.registry.api import Manifest, select_platform
from tests.infra.registry import random_image, random_index
from tests.oci.images import make_base


class Heard:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def display_waiting(self, message: str) -> None:
        self.lines.append(message)

    display_info = display_waiting


def opener(spec: str, tmp_path: Path, heard: Heard | None = None) -> BaseOpener:
    return BaseOpener(spec, tmp_path / "cache", (), heard or Heard(), {})  # type: ignore[arg-type]


def test_a_registry_base_is_pulled_once_per_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout.create(tmp_path / "pulled")
    pulls: list[str] = []

    def pull_base(location: Any, platform: Platform, *args: Any, root: Any = None) -> CachedBase:
        pulls.append(str(platform))
        image = BaseImage(layout, random_image(layout, platform=platform, register=False))
        return CachedBase(image, f"sha256:{len(pulls):064x}", from_cache=False)

    monkeypatch.setattr(hatch_krust.building.bases, "pull_base", pull_base)
    heard = Heard()
    bases = opener("reg.example/team/base:1", tmp_path, heard)
    first = bases.opened(Platform.parse("linux/arm64"))
    assert (first.name, first.digest) == ("reg.example/team/base:1", f"sha256:{1:064x}")
    assert bases.open(Platform.parse("linux/arm64/v8")) is first.image  # the same platform
    assert bases.opened(Platform.parse("linux/arm64")) is first
    other = bases.open(Platform.parse("linux/amd64"))
    assert other is not first.image
    assert bases.open(Platform.parse("linux/amd64")) is other
    assert pulls == ["linux/arm64", "linux/amd64"]
    assert heard.lines == [
        "Pulling base image reg.example/team/base:1 (linux/arm64)",
        "Pulling base image reg.example/team/base:1 (linux/amd64)",
    ]


def an_index(layout: Layout, platforms: list[Platform]) -> Manifest:
    """A registry's answer for a tag: an index of one random image per platform."""
    descriptor = random_index(layout, platforms)
    data = layout.read_blob(descriptor.digest)
    return Manifest(descriptor, data, json.loads(data))


@pytest.mark.parametrize("listed_first", [False, True])
def test_a_registry_base_is_resolved_once_for_every_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed_first: bool
) -> None:
    """The index the tag resolved to (by the first pull, or by the `all` listing when it
    comes first) is given to every later pull, which takes its platform from it, and is
    what `all` lists: the tag is not looked up again, so a tag moved meanwhile does not
    reach the build."""
    layout = Layout.create(tmp_path / "pulled")
    amd64, arm64 = Platform.parse("linux/amd64"), Platform.parse("linux/arm64")
    index = an_index(layout, [amd64, arm64])
    moved = an_index(layout, [amd64, arm64, Platform.parse("linux/s390x")])
    lookups: list[str] = []
    given: list[tuple[str, Any]] = []

    def pull_manifest(location: Any, *args: Any, **kwargs: Any) -> Manifest:
        lookups.append(str(location))
        return index if len(lookups) == 1 else moved  # the tag moves after its first lookup

    def pull_base(location: Any, platform: Platform, *args: Any, root: Any = None) -> CachedBase:
        given.append((str(platform), root))
        resolved = root if root is not None else pull_manifest(location)
        entry = select_platform(resolved, platform, str(location))
        image = BaseImage(layout, entry)
        return CachedBase(image, resolved.digest, from_cache=False, root=resolved)

    monkeypatch.setattr(hatch_krust.registry.api, "pull_manifest", pull_manifest)
    monkeypatch.setattr(hatch_krust.building.bases, "pull_base", pull_base)
    bases = opener("reg.example/team/base:1", tmp_path)
    if listed_first:
        assert bases.offered(every=True, first=amd64) == [amd64, arm64]
    opened = [bases.opened(amd64), bases.opened(arm64)]
    assert bases.offered(every=True, first=amd64) == [amd64, arm64]
    assert lookups == ["reg.example/team/base:1"]
    assert given == [("linux/amd64", index if listed_first else None), ("linux/arm64", index)]
    assert [o.digest for o in opened] == [index.digest, index.digest]
    entries = {e.platform: e.digest for e in index.children()}
    assert [o.image.descriptor.digest for o in opened if o.image] == [
        entries[amd64], entries[arm64]
    ]


def test_a_layout_base_is_read_once_and_named_as_given(tmp_path: Path) -> None:
    entry = make_base(tmp_path / "layout", [{"etc/": None, "etc/os-release": b"ID=test\n"}])
    spec = f"oci:{tmp_path / 'layout'}:base"
    bases = opener(spec, tmp_path)
    first = bases.opened(Platform.host())
    assert first.image is not None
    assert (first.name, first.digest) == (spec, entry["digest"])
    assert bases.open(Platform.host()) is first.image
    assert bases.offered(every=True, first=Platform.host()) == [Platform("linux", "amd64")]


def test_scratch_is_no_image(tmp_path: Path) -> None:
    bases = opener("scratch", tmp_path)
    assert bases.opened(Platform.host()).image is None
    assert bases.offered(every=True, first=Platform.host()) is None
    with pytest.raises(ImageError, match="The base image is scratch"):
        bases.open(Platform.host())


@pytest.mark.parametrize(("scheme", "kind"), [("oci", "directory"), ("oci-archive", "file")])
def test_a_missing_layout_base_is_named(tmp_path: Path, scheme: str, kind: str) -> None:
    missing = tmp_path / "nowhere"
    spec = f"{scheme}:{missing}:base"
    for ask in ("opened", "offered"):
        bases = opener(spec, tmp_path)
        with pytest.raises(ImageError) as caught:
            if ask == "opened":
                bases.opened(Platform.host())
            else:
                bases.offered(every=True, first=Platform.host())
        assert str(caught.value) == (
            f"The base image {spec!r} does not exist: no such {kind} {missing}"
        )


def test_a_platform_an_index_lacks_is_an_error_that_lists_what_it_has(tmp_path: Path) -> None:
    """The layered format words its own message from `offered` (it parsed this message's
    text before)."""
    from hatch_krust.errors import PlatformMissing

    layout = Layout.create(tmp_path / "pulled")
    index = an_index(layout, [Platform.parse("linux/arm64/v8"), Platform.parse("linux/amd64")])
    with pytest.raises(PlatformMissing) as raised:
        select_platform(index, "linux/s390x", "reg.example/python:3.11")
    assert raised.value.offered == ("linux/amd64", "linux/arm64/v8")
    assert str(raised.value) == (
        "reg.example/python:3.11 has no image for platform linux/s390x "
        "(it has: linux/amd64, linux/arm64/v8)"
    )
