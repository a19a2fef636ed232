"""Registry base images, kept in one OCI layout under the user cache directory.

Blobs are content-addressed and verified when pulled, so they are shared by every build
and downloaded once. A base pinned by digest (`…@sha256:…`, the recommended form) is
served from the cache with no network at all once it has been pulled, after its manifest,
config and layers are checked against their digests again (a damaged cache is a miss: the
damaged blobs are removed and pulled again, with a warning). A base named by tag is looked
up again each build (the tag may have moved), but only blobs the cache lacks are
downloaded. A lock file serialises writers of the layout's `index.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError
from hatch_krust.formats.cache import file_lock
from hatch_krust.inputs import blob_record_file
from hatch_krust.leftovers import remove_stale
from hatch_krust.oci.assemble import BaseImage
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.digest import is_digest
from hatch_krust.oci.layout import Layout, walk
from hatch_krust.oci.platform import Platform

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from hatch_krust.oci.reference import Reference
    from hatch_krust.progress import Reporter

__all__ = ["BaseOpener", "CachedBase", "pull_base", "record_path"]


@dataclass(frozen=True)
class CachedBase:
    image: BaseImage
    base_digest: str  # what `org.opencontainers.image.base.digest` should say
    from_cache: bool  # True when no registry was asked
    warning: str = ""  # why a cached copy was not used (damaged), for the caller to print


def record_path(cache_root: Path, reference: Reference, platform: Platform) -> tuple[str, Path]:
    """The tag a base is kept under in the cache layout, and its record file."""
    key = hashlib.sha256(f"{reference}|{platform}".encode()).hexdigest()[:32]
    return key, cache_root / "bases" / "refs" / f"{key}.json"


def pull_base(
    reference: Reference,
    platform: Platform,
    cache_root: Path,
    insecure: tuple[str, ...],
    env: Mapping[str, str] | None = None,
) -> CachedBase:
    from hatch_krust.registry.api import Options, pull_image

    key, record = record_path(cache_root, reference, platform)
    warning = ""
    with file_lock(cache_root / "bases.lock"):
        layout = Layout.create(cache_root / "bases")
        # half-written blobs of a pull that was killed (`.DIGEST.xxxx`, see Layout)
        remove_stale(layout.root / "blobs" / "sha256", (".*",))
        if reference.digest:
            cached, warning = _from_record(layout, record)
            if cached is not None:
                return cached
        # credentials from the build's own environment (the config's), not the process's
        options = Options(insecure=frozenset(insecure), env=dict(env) if env else None,
                          blob_record=blob_record_file(cache_root))
        pulled = pull_image(reference, layout, platform=str(platform), tag=key, options=options)
        descriptor = layout.resolve(key)
        base_digest = pulled.index.digest if pulled.index is not None else pulled.manifest.digest
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"manifest": descriptor.to_json(), "base": base_digest}))
    return CachedBase(BaseImage(layout, descriptor), base_digest, False, warning)


def _from_record(layout: Layout, record: Path) -> tuple[CachedBase | None, str]:
    """The cached base when its record is sound and every blob it needs matches its digest;
    else None and, when a cached copy was there but unusable, why."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        descriptor = Descriptor.from_json(data["manifest"])
        base_digest = data["base"]
    except FileNotFoundError:
        return None, ""
    except (OSError, ValueError, KeyError, TypeError, RecursionError, ImageError):
        return None, f"The cache record {record} is unreadable; pulling the base image again"
    if not isinstance(base_digest, str) or not is_digest(base_digest):
        return None, f"The cache record {record} is unreadable; pulling the base image again"
    damage = _damage(layout, descriptor)
    if damage:
        return None, f"The cached base image is damaged ({damage}); pulling it again"
    return CachedBase(BaseImage(layout, descriptor), base_digest, from_cache=True), ""


def _damage(layout: Layout, descriptor: Descriptor) -> str:
    """'' if the manifest (or index), config and layers are all there and match their digests
    and sizes; else what is wrong. Damaged blobs are removed so a pull fetches them again."""
    damaged: list[str] = []

    def check(blob: Descriptor) -> bool:
        if layout.verify_blob(blob):
            return True
        if not (blob.urls and not layout.has_blob(blob.digest)):  # foreign layers may be absent
            damaged.append(blob.digest)
        return False

    try:
        walk(layout, [descriptor], check)
    except ImageError as exc:
        damaged.append(descriptor.digest)
        problem = str(exc)
    else:
        problem = f"{damaged[0]} is missing or does not match its digest" if damaged else ""
    for digest in damaged:
        layout.blob_path(digest).unlink(missing_ok=True)
    return problem


class BaseOpener:
    """The base image for each platform a format asks for (`formats.base.BaseSource`):
    registry bases pulled through the shared cache, layouts and archives read in place.
    Archives stay open until `close` (the build's end)."""

    def __init__(
        self,
        spec: str,
        cache_root: Path,
        insecure: tuple[str, ...],
        reporter: Reporter,
        env: Mapping[str, str],
    ) -> None:
        self.spec, self.cache_root, self.insecure = spec, cache_root, insecure
        self.reporter, self.env = reporter, env
        self._stack = contextlib.ExitStack()
        self._layout: tuple[Layout, Descriptor] | None = None
        self._pulled: dict[str, CachedBase] = {}

    def close(self) -> None:
        self._stack.close()

    def offered(self, *, every: bool, first: Platform) -> list[Platform] | None:
        from hatch_krust.oci.image import platforms_of

        if self.spec == "scratch":
            return None
        layout = self.local()
        if layout is not None:
            return [platform for platform, _ in platforms_of(*layout)]
        return self._registry_platforms() if every else [first]

    def open(self, platform: Platform) -> BaseImage:
        layout = self.local()
        if layout is not None:
            return BaseImage(*layout)
        return self.pull(platform).image

    def pull(self, platform: Platform) -> CachedBase:
        """A registry base for `platform`, pulled once per build (a tag is looked up once:
        the image and its record name the same base)."""
        from hatch_krust.registry.api import LayoutLocation, parse_location

        if str(platform) not in self._pulled:
            location = parse_location(self.spec)
            assert not isinstance(location, LayoutLocation)  # `local` takes those
            self.reporter.display_waiting(f"Pulling base image {location} ({platform})")
            pulled = pull_base(location, platform, self.cache_root, self.insecure, self.env)
            self._pulled[str(platform)] = pulled
        return self._pulled[str(platform)]

    def local(self) -> tuple[Layout, Descriptor] | None:
        """An `oci:` layout or `oci-archive:` base, opened once; None for a registry."""
        from hatch_krust.oci.layout import open_archive
        from hatch_krust.registry.api import LayoutLocation, parse_location

        if self._layout is None:
            location = parse_location(self.spec)
            if not isinstance(location, LayoutLocation):
                return None
            if location.archive:
                layout = self._stack.enter_context(open_archive(location.path))
            else:
                layout = Layout.open(location.path)
            self._layout = (layout, layout.resolve(location.tag))
        return self._layout

    def _registry_platforms(self) -> list[Platform]:
        """The platforms a registry base's index lists (its manifest alone: the host's)."""
        from hatch_krust.registry.api import Options, inspect, parse_location

        options = Options(insecure=frozenset(self.insecure), env=dict(self.env))
        found = inspect(parse_location(self.spec), config=False, options=options)
        entries = found["manifest"].get("manifests")
        if not isinstance(entries, list):
            return [Platform.host()]
        platforms = []
        for entry in entries:
            spec = entry.get("platform") if isinstance(entry, dict) else None
            if isinstance(spec, dict) and spec.get("os") and spec.get("architecture"):
                os_, arch = str(spec["os"]), str(spec["architecture"])
                platforms.append(Platform(os_, arch, str(spec.get("variant", ""))))
        return platforms
