"""The base image of a build (`BaseOpener`), and registry bases kept in one OCI layout
under the user cache directory.

Blobs are content-addressed and verified when pulled, so they are shared by every build
and downloaded once. A base pinned by digest (`…@sha256:…`, the recommended form) is
served from the cache with no network at all once it has been pulled, after its manifest,
config and layers are checked against their digests again (a damaged cache is a miss: the
damaged blobs are removed and pulled again, with a warning). A base named by tag is looked
up again each build (the tag may have moved), once: the build's `BaseOpener` keeps the index
(or manifest) the tag resolved to, and every platform, and the `all` listing, is taken from
that one index, each platform's manifest by its digest, so a tag moved while the build runs
cannot give one image's platforms two releases of the base. Only blobs the cache lacks are
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
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from hatch_krust.oci.reference import Reference
    from hatch_krust.progress import Reporter
    from hatch_krust.registry.api import Manifest

__all__ = ["BaseOpener", "CachedBase", "OpenedBase", "pull_base", "record_path"]


@dataclass(frozen=True)
class CachedBase:
    image: BaseImage
    base_digest: str  # what `org.opencontainers.image.base.digest` should say
    from_cache: bool  # True when no registry was asked
    warning: str = ""  # why a cached copy was not used (damaged), for the caller to print
    # the index (or manifest) the reference resolved to, when the registry was asked: the
    # build's later platforms are pulled from it (`pull_base`'s `root`)
    root: Manifest | None = None


@dataclass(frozen=True)
class OpenedBase:
    """The base as the build uses it: the image (None for `scratch`), and the name and
    digest its annotations and record give (`org.opencontainers.image.base.*`)."""

    image: BaseImage | None
    name: str
    digest: str


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
    *,
    root: Manifest | None = None,
) -> CachedBase:
    """`platform`'s image of a registry base, in the cache layout: served from the cache
    with no network when `reference` is pinned by digest and its copy is sound, else
    pulled. `root` is the index (or manifest) `reference` resolved to earlier in the build
    (a `CachedBase.root`): the platform is taken from it, by digest, and `reference` is not
    looked up again."""
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
        pulled = pull_image(
            reference, layout, platform=str(platform), tag=key, options=options, root=root
        )
        descriptor = layout.resolve(key)
        resolved = pulled.index if pulled.index is not None else pulled.manifest
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"manifest": descriptor.to_json(), "base": resolved.digest}))
    return CachedBase(BaseImage(layout, descriptor), resolved.digest, False, warning, resolved)


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
    """The build's one way to the base image: the build's first platform (`opened`) and
    each platform a format asks for (`open`, `formats.base.BaseSource`) come from here.
    Registry bases are pulled through the shared cache, layouts and archives read in place.

    What is opened is kept for the build: a platform asked for again (the first one,
    which the build opens before the format runs and a format on the base's Python opens
    again) is the same image, not a second pull, so each base manifest, config and blob
    is fetched and digest-checked once per build. Archives stay open until `close` (the
    build's end).

    A registry base is resolved once a build: the index (or manifest) its first pull (or
    the `all` listing, `offered`) found is kept, and every other platform is pulled from
    it by digest, never by looking the tag up again; a tag that moves while the build runs
    cannot give two platforms of one image two different bases.
    """

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
        # by `Platform.normalized()`: linux/arm64 and linux/arm64/v8 are one platform
        self._opened: dict[Platform, OpenedBase] = {}
        self._root: Manifest | None = None  # what a registry base resolved to, once

    def close(self) -> None:
        self._stack.close()

    def offered(self, *, every: bool, first: Platform) -> list[Platform] | None:
        from hatch_krust.oci.image import platforms_of

        if self.spec == "scratch":
            return None
        layout = self._local()
        if layout is not None:
            return [platform for platform, _ in platforms_of(*layout)]
        return self._registry_platforms() if every else [first]

    def open(self, platform: Platform) -> BaseImage:
        """The base for `platform` (the protocol's: never scratch, whose `offered` is None)."""
        image = self.opened(platform).image
        if image is None:
            message = "The base image is scratch: there is no base to open"
            raise ImageError(message)
        return image

    def opened(self, platform: Platform) -> OpenedBase:
        """The base for `platform` with the name and digest the image records; opened the
        first time it is asked for, and kept. `scratch` is no image."""
        key = platform.normalized()
        if key not in self._opened:
            self._opened[key] = self._open_new(platform)
        return self._opened[key]

    def _open_new(self, platform: Platform) -> OpenedBase:
        if self.spec == "scratch":
            return OpenedBase(None, "", "")
        layout = self._local()
        if layout is not None:
            return OpenedBase(BaseImage(*layout), self.spec, layout[1].digest)
        from hatch_krust.registry.api import LayoutLocation, parse_location

        location = parse_location(self.spec)
        assert not isinstance(location, LayoutLocation)  # `_local` took those
        self.reporter.display_waiting(f"Pulling base image {location} ({platform})")
        base = self._pull(location, platform)
        if base.warning:
            self.reporter.display_info(f"Warning: {base.warning}")
        if base.from_cache:
            self.reporter.display_info(
                f"Base image {location} served from the cache (pinned by digest)"
            )
        return OpenedBase(base.image, str(location), base.base_digest)

    def _pull(self, location: Reference, platform: Platform) -> CachedBase:
        """`pull_base`, from the index the base resolved to when it has been; the first
        index a pull resolves is kept for the rest."""
        with self._reaching():
            base = pull_base(
                location, platform, self.cache_root, self.insecure, self.env, root=self._root
            )
        if self._root is None:
            self._root = base.root
        return base

    @contextlib.contextmanager
    def _reaching(self) -> Iterator[None]:
        """The registry's answers; the default base unreachable says what to use instead."""
        from hatch_krust.config import DEFAULT_BASE_IMAGE
        from hatch_krust.errors import RegistryError, TransportFailure

        try:
            yield
        except TransportFailure as exc:
            if self.spec != DEFAULT_BASE_IMAGE:
                raise
            message = (
                f"{exc}. {self.spec} is the default base image and needs internet access: set "
                '`base-image = "scratch"` (or KRUST_BASE_IMAGE=scratch), a local `oci:DIR` '
                "layout or a registry you can reach"
            )
            raise RegistryError(message) from None

    def _local(self) -> tuple[Layout, Descriptor] | None:
        """An `oci:` layout or `oci-archive:` base, opened once; None for a registry."""
        from hatch_krust.oci.layout import open_archive
        from hatch_krust.registry.api import LayoutLocation, parse_location

        if self._layout is None:
            location = parse_location(self.spec)
            if not isinstance(location, LayoutLocation):
                return None
            if not location.path.exists():
                kind = "file" if location.archive else "directory"
                message = (
                    f"The base image {self.spec!r} does not exist: no such {kind} {location.path}"
                )
                raise ImageError(message)
            if location.archive:
                layout = self._stack.enter_context(open_archive(location.path))
            else:
                layout = Layout.open(location.path)
            self._layout = (layout, layout.resolve(location.tag))
        return self._layout

    def _registry_platforms(self) -> list[Platform]:
        """The platforms a registry base's index lists (its manifest alone: the host's):
        the index the build's pulls take every platform from (looked up now, and kept for
        them, when no platform has been pulled yet)."""
        from hatch_krust.registry.api import LayoutLocation, Options, parse_location, pull_manifest

        if self._root is None:
            location = parse_location(self.spec)
            assert not isinstance(location, LayoutLocation)  # `_local` took those
            options = Options(insecure=frozenset(self.insecure), env=dict(self.env))
            with self._reaching():
                self._root = pull_manifest(location, options=options)
        entries = self._root.document.get("manifests")
        if not isinstance(entries, list):
            return [Platform.host()]
        platforms = []
        for entry in entries:
            spec = entry.get("platform") if isinstance(entry, dict) else None
            if isinstance(spec, dict) and spec.get("os") and spec.get("architecture"):
                os_, arch = str(spec["os"]), str(spec["architecture"])
                platforms.append(Platform(os_, arch, str(spec.get("variant", ""))))
        return platforms
