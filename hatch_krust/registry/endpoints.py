"""Where images come from and go to: a registry repository or an OCI layout.

A copy is source → sink over the same graph walk, so registry→registry,
registry→layout, layout→registry and layout→layout share one code path.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Protocol

from hatch_krust.errors import ImageError
from hatch_krust.oci.layout import MAX_DEPTH
from hatch_krust.oci.mediatypes import ALL_MANIFEST_TYPES
from hatch_krust.registry.blobs import (
    LayoutBlob,
    RemoteBlob,
    VerifyingReader,
    retry_sequence,
    upload_blob,
)
from hatch_krust.registry.manifests import Manifest, get_manifest, parse_manifest, put_manifest

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout
    from hatch_krust.registry.blobs import BlobSource
    from hatch_krust.registry.client import Registry
    from hatch_krust.registry.options import Progress

__all__ = [
    "LayoutSink",
    "LayoutSource",
    "RegistrySink",
    "RegistrySource",
    "Sink",
    "Source",
    "transfer",
    "walk",
]

log = logging.getLogger("hatch_krust.registry")


class Source(Protocol):
    name: str

    def root(self) -> Manifest: ...
    def manifest(self, descriptor: Descriptor) -> Manifest: ...
    def blob(self, descriptor: Descriptor) -> BlobSource: ...


class Sink(Protocol):
    def put_blobs(self, source: Source, blobs: Sequence[Descriptor]) -> None: ...
    def put_manifest(self, manifest: Manifest) -> None: ...
    def tag(self, manifest: Manifest, tags: Sequence[str]) -> None: ...


class RegistrySource:
    def __init__(self, registry: Registry, repository: str, identifier: str) -> None:
        self.registry, self.repository, self.identifier = registry, repository, identifier
        self.name = f"{registry.host}/{repository}"

    def root(self) -> Manifest:
        return self.seen(get_manifest(self.registry, self.repository, self.identifier))

    def manifest(self, descriptor: Descriptor) -> Manifest:
        return self.seen(get_manifest(self.registry, self.repository, descriptor.digest))

    def blob(self, descriptor: Descriptor) -> BlobSource:
        return RemoteBlob(self.registry, self.repository, descriptor)

    def seen(self, manifest: Manifest) -> Manifest:
        """An image manifest's repository holds its config and layers (a registry accepts
        the manifest only then): record them, so a push can mount them from here. Also
        for a manifest fetched before and given back (`pull_image`'s `root`)."""
        if not manifest.is_index:
            for child in manifest.children():
                if not child.urls:
                    self.registry.record.seen(child.digest, self.repository)
        return manifest


class LayoutSource:
    def __init__(self, layout: Layout, tag: str | None, name: str = "") -> None:
        self.layout, self.tag = layout, tag
        self.name = name or str(layout.root)

    def root(self) -> Manifest:
        return self.manifest(self.layout.resolve(self.tag))

    def manifest(self, descriptor: Descriptor) -> Manifest:
        data = self.layout.read_blob(descriptor.digest)
        return parse_manifest(data, descriptor.media_type, descriptor.digest, self.name)

    def blob(self, descriptor: Descriptor) -> BlobSource:
        return LayoutBlob(self.layout, descriptor.digest)


def walk(source: Source, root: Manifest) -> tuple[list[Manifest], list[Descriptor]]:
    """Manifests children-first (root last) and the distinct blobs they reference.

    Iterative, and indexes nest at most `MAX_DEPTH` deep: a hostile chain of nested
    indexes is refused instead of exhausting the stack.
    """
    manifests: list[Manifest] = []
    blobs: dict[str, Descriptor] = {}
    seen: set[str] = set()
    stack: list[tuple[Manifest, int, bool]] = [(root, 0, False)]
    while stack:
        manifest, depth, expanded = stack.pop()
        if expanded:
            manifests.append(manifest)
            continue
        if depth > MAX_DEPTH:
            message = f"{root.descriptor.digest} nests indexes more than {MAX_DEPTH} deep; refused"
            raise ImageError(message)
        stack.append((manifest, depth, True))
        for child in reversed(manifest.children()):
            if child.media_type in ALL_MANIFEST_TYPES and manifest.is_index:
                if child.digest not in seen:
                    seen.add(child.digest)
                    stack.append((source.manifest(child), depth + 1, False))
            elif child.urls:
                log.info("not copying foreign layer %s (it is fetched from its URLs)",
                         child.digest)
            else:
                blobs.setdefault(child.digest, child)
    return manifests, list(blobs.values())


def transfer(source: Source, sink: Sink, root: Manifest, tags: Sequence[str]) -> None:
    """Blobs first, then manifests by digest (children before the index), then tags."""
    manifests, blobs = walk(source, root)
    sink.put_blobs(source, blobs)
    for manifest in manifests:
        sink.put_manifest(manifest)
    sink.tag(root, tags)


def _parallel(jobs: int, work: Callable[[Descriptor], object],
              items: Sequence[Descriptor]) -> None:
    """Run `work` on every item with `jobs` threads; the first failure stops the rest.

    The workers are daemon threads and an interrupt (Ctrl-C) does not wait for them: a
    worker stalled on a read would hold `ThreadPoolExecutor.shutdown` (and the exit of
    the interpreter) for the whole read timeout. They take no new item once one failed
    or the caller was interrupted, and the caller closes the registry they read from.
    """
    if jobs <= 1 or len(items) <= 1:
        for item in items:
            work(item)
        return
    pending: queue.SimpleQueue[Descriptor] = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    stop = threading.Event()
    failures: list[BaseException] = []

    def worker() -> None:
        while not stop.is_set():
            try:
                item = pending.get_nowait()
            except queue.Empty:
                return
            try:
                work(item)
            except BaseException as exc:
                failures.append(exc)
                stop.set()

    threads = [threading.Thread(target=worker, name=f"krust-blob-{n}", daemon=True)
               for n in range(min(jobs, len(items)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()
        raise
    if failures:
        raise failures[0]


class RegistrySink:
    def __init__(self, registry: Registry, repository: str, *, mount_from: str | None = None,
                 progress: Progress | None = None) -> None:
        self.registry, self.repository = registry, repository
        self.mount_from, self.progress = mount_from, progress
        self.outcomes: dict[str, str] = {}

    def put_blobs(self, source: Source, blobs: Sequence[Descriptor]) -> None:
        def one(descriptor: Descriptor) -> None:
            self.outcomes[descriptor.digest] = upload_blob(
                self.registry, self.repository, descriptor, source.blob(descriptor),
                mount_from=self.mount_from, progress=self.progress,
            )

        _parallel(self.registry.options.jobs, one, blobs)

    def put_manifest(self, manifest: Manifest) -> None:
        put_manifest(self.registry, self.repository, manifest, manifest.digest)

    def tag(self, manifest: Manifest, tags: Sequence[str]) -> None:
        for tag in dict.fromkeys(tags):
            put_manifest(self.registry, self.repository, manifest, tag)


class LayoutSink:
    def __init__(self, layout: Layout, *, jobs: int = 4, progress: Progress | None = None,
                 registry: Registry | None = None) -> None:
        self.layout, self.jobs, self.progress = layout, jobs, progress
        self.registry = registry  # for retrying downloads, when the source is remote

    def put_blobs(self, source: Source, blobs: Sequence[Descriptor]) -> None:
        _parallel(self.jobs, lambda d: self._one(source, d), blobs)

    def _one(self, source: Source, descriptor: Descriptor) -> None:
        if self.layout.has_blob(descriptor.digest):
            return

        def attempt() -> None:
            report = None if self.progress is None else (
                lambda done: self.progress(descriptor.digest, done, descriptor.size)  # type: ignore[misc]
            )
            with source.blob(descriptor).open() as chunks:
                reader = VerifyingReader(chunks, descriptor, source.name, report)
                self.layout.write_blob_from(reader, descriptor.digest, descriptor.size)  # type: ignore[arg-type]

        if self.registry is None:
            attempt()
        else:
            retry_sequence(self.registry, attempt, f"downloading blob {descriptor.digest}")

    def put_manifest(self, manifest: Manifest) -> None:
        if self.layout.write_blob(manifest.data) != manifest.digest:
            message = f"Only sha256 manifests can be stored in a layout: {manifest.digest}"
            raise ImageError(message)

    def tag(self, manifest: Manifest, tags: Sequence[str]) -> None:
        for tag in dict.fromkeys(tags) or [None]:
            self.layout.add_manifest(manifest.descriptor, tag)
