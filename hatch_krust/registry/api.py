"""The registry module's public surface: everything outside `registry/` imports from
here (or from `hatch_krust.registry`), never from the other modules of the package.

Whole-image operations (`push_layout`, `copy`, `merge`, `pull_manifest`, `pull_image`,
`fetch_blob`, `inspect`) open their own connections and close them; `Repository` is one
open repository for callers that read or attach piece by piece (`attest/`). Every knob
is in `Options`; every failure is a `KrustError` (see `hatch_krust.errors`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import (
    AuthError,
    HTTPError,
    ImageError,
    InvalidReference,
    RegistryError,
    TransportFailure,
    redact_userinfo,
)
from hatch_krust.oci.canonical import MAX_DOCUMENT
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from hatch_krust.oci.reference import Reference, check_repository, parse_reference
from hatch_krust.registry.client import Registry
from hatch_krust.registry.credentials import Credentials
from hatch_krust.registry.endpoints import (
    LayoutSink,
    LayoutSource,
    RegistrySink,
    RegistrySource,
    Sink,
    Source,
    transfer,
)
from hatch_krust.registry.locations import LayoutLocation, Location, parse_location
from hatch_krust.registry.manifests import Manifest, get_manifest, select_platform
from hatch_krust.registry.options import Options, Progress
from hatch_krust.registry.probe import read_config, source_platforms
from hatch_krust.registry.referrers import ReferrersResult
from hatch_krust.registry.repository import Repository
from hatch_krust.registry.retry import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from hatch_krust.oci.descriptor import Descriptor, Platform

__all__ = [
    "AuthError",
    "Credentials",
    "HTTPError",
    "InvalidReference",
    "LayoutLocation",
    "Location",
    "Manifest",
    "Options",
    "Progress",
    "PulledImage",
    "ReferrersResult",
    "RegistryError",
    "Repository",
    "RetryPolicy",
    "TransportFailure",
    "copy",
    "fetch_blob",
    "inspect",
    "merge",
    "parse_location",
    "pull_image",
    "pull_manifest",
    "push_layout",
    "redact_userinfo",
    "select_platform",
]


def _reference(ref: Reference | str) -> Reference:
    return ref if isinstance(ref, Reference) else parse_reference(ref)


def push_layout(
    layout: Layout,
    root: Descriptor,
    dest: Reference | str,
    tags: Sequence[str] = (),
    *,
    mount_from: str | None = None,
    options: Options | None = None,
) -> str:
    """Push the image or index `root` of `layout` to `dest`; return its digest.

    Blobs go first (in parallel, skipping what the registry has, mounting from
    `mount_from` — another repository of the same registry — when given), then
    manifests by digest, then `dest`'s tag and `tags`. Nothing is tagged if any
    blob or manifest fails.
    """
    ref = _reference(dest)
    opts = options or Options()
    if mount_from is not None:
        check_repository(mount_from)
    source = LayoutSource(layout, None, str(layout.root))
    manifest = source.manifest(root)
    with Registry(ref.api_host, opts, ref.repository) as registry:
        sink = RegistrySink(registry, ref.repository, mount_from=mount_from, progress=opts.progress)
        transfer(source, sink, manifest, _tags(ref, tags, manifest))
    return manifest.digest


def _tags(ref: Reference, tags: Sequence[str], manifest: Manifest) -> list[str]:
    if ref.digest and ref.digest != manifest.digest:
        message = f"Cannot push {manifest.digest} to {ref}: the reference names another digest"
        raise ImageError(message)
    return [*([ref.tag] if ref.tag and not ref.digest else []), *tags]


def copy(
    src: Location | str,
    dst: Location | str,
    *,
    platform: Platform | str | None = None,
    tags: Sequence[str] = (),
    mount_from: str | None = None,
    options: Options | None = None,
) -> str:
    """Copy an image or index between registries and OCI layouts; return its digest.

    `src`/`dst` are Reference, LayoutLocation or their strings (`oci:DIR[:TAG]`,
    `oci-archive:FILE[:TAG]`, `[docker://]host/repo[:tag]`). With `platform`, only that
    platform's image of an index is copied. Blobs are streamed, never held in memory.
    A registry→registry copy within one registry mounts blobs from the source
    repository; `mount_from` names another repository of the destination registry to
    mount from instead.
    """
    if mount_from is not None:
        check_repository(mount_from)
    source_loc, dest_loc = _location(src), _location(dst)
    opts = options or Options()
    with contextlib.ExitStack() as stack:
        source, source_registry, root = _open_root(stack, source_loc, opts, platform)
        sink, tags_out, finish = _open_sink(
            stack,
            dest_loc,
            options=opts,
            source_registry=source_registry,
            source_location=source_loc,
            root=root,
            tags=tags,
        )
        if mount_from and isinstance(sink, RegistrySink):
            sink.mount_from = mount_from
        transfer(source, sink, root, tags_out)
        finish()
    return root.digest


def _location(location: Location | str) -> Location:
    return parse_location(location) if isinstance(location, str) else location


def _open_root(
    stack: contextlib.ExitStack,
    location: Location,
    options: Options,
    platform: Platform | str | None,
) -> tuple[Source, Registry | None, Manifest]:
    """The source, its registry (None for a layout) and its root manifest: with
    `platform`, an index's image for that platform."""
    source, registry = _open_source(stack, location, options)
    root = source.root()
    if platform is not None and root.is_index:
        root = source.manifest(select_platform(root, platform, source.name))
    return source, registry, root


def _open_source(
    stack: contextlib.ExitStack, location: Location, options: Options
) -> tuple[Source, Registry | None]:
    if isinstance(location, Reference):
        registry = stack.enter_context(Registry(location.api_host, options, location.repository))
        return RegistrySource(registry, location.repository, location.identifier), registry
    if location.archive:
        layout = stack.enter_context(open_archive(location.path))
    else:
        layout = Layout.open(location.path)
    return LayoutSource(layout, location.tag, str(location)), None


def _open_sink(
    stack: contextlib.ExitStack,
    location: Location,
    *,
    options: Options,
    source_registry: Registry | None,
    source_location: Location,
    root: Manifest,
    tags: Sequence[str],
) -> tuple[Sink, list[str], Callable[[], None]]:
    if isinstance(location, Reference):
        mount_from = None
        if source_registry is not None and source_registry.host == location.api_host:
            registry = source_registry
            assert isinstance(source_location, Reference)
            mount_from = source_location.repository
        else:
            registry = stack.enter_context(
                Registry(location.api_host, options, location.repository)
            )
        sink = RegistrySink(
            registry, location.repository, mount_from=mount_from, progress=options.progress
        )
        return sink, _tags(location, tags, root), lambda: None
    return _layout_sink(stack, location, options, source_registry, tags)


def _layout_sink(
    stack: contextlib.ExitStack,
    location: LayoutLocation,
    options: Options,
    source_registry: Registry | None,
    tags: Sequence[str],
) -> tuple[Sink, list[str], Callable[[], None]]:
    names = [*([location.tag] if location.tag else []), *tags]
    if not location.archive:
        layout = Layout.create(location.path)
        sink = LayoutSink(
            layout, jobs=options.jobs, progress=options.progress, registry=source_registry
        )
        return sink, names, lambda: None
    tmp = stack.enter_context(_temporary_dir())
    layout = Layout.create(tmp)
    sink = LayoutSink(
        layout, jobs=options.jobs, progress=options.progress, registry=source_registry
    )
    return sink, names, lambda: write_archive(layout, location.path, epoch=options.epoch)


@contextlib.contextmanager
def _temporary_dir() -> Iterator[Any]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="krust-copy-") as tmp:
        yield Path(tmp) / "layout"


def pull_manifest(
    ref: Reference | str,
    platform: Platform | str | None = None,
    *,
    options: Options | None = None,
) -> Manifest:
    """The manifest (or index) `ref` names, verified; with `platform`, an index is resolved."""
    reference = _reference(ref)
    with Registry(reference.api_host, options, reference.repository) as registry:
        manifest = get_manifest(registry, reference.repository, reference.identifier)
        if platform is not None and manifest.is_index:
            entry = select_platform(manifest, platform, str(reference))
            manifest = get_manifest(registry, reference.repository, entry.digest)
    return manifest


@dataclass(frozen=True)
class PulledImage:
    """A base image fetched into a layout: by-digest reference, manifest and config."""

    reference: Reference
    manifest: Manifest
    config: dict[str, Any]
    index: Manifest | None


def pull_image(
    ref: Reference | str,
    layout: Layout,
    *,
    platform: Platform | str = "linux/amd64",
    tag: str | None = None,
    layers: bool = True,
    options: Options | None = None,
    root: Manifest | None = None,
) -> PulledImage:
    """Fetch one platform's image into `layout` (index → manifest → config → layers).

    With `layers=False` only the manifest and config are stored; fetch layers later with
    `fetch_blob` (or not at all, when the push can mount them). The manifest is added to
    `index.json` under `tag` (untagged when None).

    `root` is what `ref` resolved to when it was fetched before (a `PulledImage`'s `index`
    or `manifest`, or `pull_manifest`'s answer: verified then): it is not asked for again,
    so every platform pulled with it comes from that one index even if `ref`'s tag has
    moved since; the platform's manifest is fetched by its digest, verified.
    """
    reference = _reference(ref)
    opts = options or Options()
    if root is not None and reference.digest and root.digest != reference.digest:
        message = f"{reference} names another digest than the index given ({root.digest})"
        raise ImageError(message)
    with Registry(reference.api_host, opts, reference.repository) as registry:
        source = RegistrySource(registry, reference.repository, reference.identifier)
        index: Manifest | None = None
        manifest = source.root() if root is None else source.seen(root)
        if manifest.is_index:
            index = manifest
            manifest = source.manifest(select_platform(index, platform, str(reference)))
        if manifest.is_index:
            message = f"{reference} resolves to a nested index; not supported as a base"
            raise ImageError(message)
        config_descriptor, *layer_descriptors = manifest.children()
        if config_descriptor.size > MAX_DOCUMENT:  # checked before a byte is downloaded
            message = f"The config of {reference} is larger than 4 MiB; refused"
            raise ImageError(message)
        sink = LayoutSink(layout, jobs=opts.jobs, progress=opts.progress, registry=registry)
        sink.put_blobs(source, [config_descriptor, *(layer_descriptors if layers else [])])
        sink.put_manifest(manifest)
    descriptor = manifest.descriptor
    if index is not None:
        entry = select_platform(index, platform, str(reference))
        descriptor = dataclasses.replace(descriptor, platform=entry.platform)
    layout.add_manifest(descriptor, tag)
    config = layout.read_config(config_descriptor, str(reference))
    return PulledImage(reference.with_digest(manifest.digest), manifest, config, index)


def fetch_blob(
    ref: Reference | str,
    descriptor: Descriptor,
    layout: Layout,
    *,
    options: Options | None = None,
) -> None:
    """Download one blob of `ref`'s repository into `layout`, streamed and verified."""
    reference = _reference(ref)
    opts = options or Options()
    with Registry(reference.api_host, opts, reference.repository) as registry:
        source = RegistrySource(registry, reference.repository, reference.identifier)
        LayoutSink(layout, jobs=1, progress=opts.progress, registry=registry).put_blobs(
            source, [descriptor]
        )


def inspect(
    location: Location | str,
    *,
    platform: Platform | str | None = None,
    config: bool = True,
    raw: bool = False,
    options: Options | None = None,
) -> dict[str, Any]:
    """What `location` holds: its digest, media type, manifest, and (for an image) config.

    With `raw`, `out["raw"]` holds the manifest's exact bytes (their SHA-256 is the digest).
    """
    with contextlib.ExitStack() as stack:
        source, _, manifest = _open_root(stack, _location(location), options or Options(), platform)
        out: dict[str, Any] = {
            "digest": manifest.digest,
            "mediaType": manifest.media_type,
            "manifest": manifest.document,
        }
        if raw:
            out["raw"] = manifest.data
        if config and not manifest.is_index:
            out["config"] = read_config(source, manifest)
    return out


def merge(
    destination: str,
    sources: Sequence[str],
    *,
    tags: Sequence[str] = (),
    options: Options | None = None,
) -> str:
    """Join per-platform images built on different machines into one index at
    `destination`.

    Each source is copied into one temporary layout, its platforms are joined by
    `oci.merge.merge_indexes`, and the result is pushed by digest and then tagged, or
    written as a layout.

    Merge `sources` into `destination`; return `HOST/REPO@sha256:…` or `oci…@sha256:…`."""
    if len(sources) < 2:
        message = "merge needs at least two sources (one per platform) to join"
        raise ImageError(message)
    dest = parse_location(destination)
    _check_distinct_platforms(sources, options or Options())  # before a layer is copied
    with tempfile.TemporaryDirectory(prefix="krust-merge-") as tmp:
        layout = Layout.create(Path(tmp) / "layout")
        roots = []
        for number, source in enumerate(sources):
            tag = f"source-{number}"
            copy(source, LayoutLocation(layout.root, tag, archive=False), options=options)
            roots.append(layout.resolve(tag))
        from hatch_krust.oci.merge import merge_indexes  # only here: a push never loads it

        merged = merge_indexes(layout, roots)
        if isinstance(dest, Reference):
            digest = push_layout(layout, merged, dest, tags, options=options)
            return f"{dest.name}@{digest}"
        layout.add_manifest(merged, "merged")
        copy(LayoutLocation(layout.root, "merged", archive=False), dest, tags=tags, options=options)
        return f"{dest}@{merged.digest}"


def _check_distinct_platforms(sources: Sequence[str], options: Options) -> None:
    """Two sources of one platform are refused from their manifests and configs alone."""
    seen: dict[Platform, str] = {}
    for source in sources:
        with contextlib.ExitStack() as stack:
            opened, _ = _open_source(stack, parse_location(source), options)
            platforms = source_platforms(opened)
        for platform in platforms:
            if platform in seen:
                message = (
                    f"Platform {platform} appears twice: in {seen[platform]} and in {source}; "
                    "merge images of different platforms only (nothing was copied or pushed)"
                )
                raise ImageError(message)
            seen[platform] = source
