"""How an image archive names and presents its image, so every tool that opens it finds it.

Readers disagree on what `index.json` may point at. go-containerregistry's layout reader
(Syft, and the tools built on it) wants image manifests there, not a nested index; podman
names a loaded image after `io.containerd.image.name` (else `ref.name`); skopeo and umoci
look an image up by `ref.name`; Docker's 20.10 engine reads only its own `manifest.json`.
So a named image is written to the archive as its platform manifests, each listed in
`index.json` with its `platform`, the tag as `ref.name` and the full name as
`io.containerd.image.name`, plus `manifest.json` and `repositories` for the host's
platform. The image index, whose digest is the one pushed, stays in the archive's blobs and
every entry names it (`INDEX_ANNOTATION`), so hatch-krust reads the archive back as that
index. The working layout keeps the index in its `index.json`: only the archive changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hatch_krust.oci.canonical import canonical_json
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.mediatypes import INDEX_TYPES, MANIFEST_TYPES
from hatch_krust.oci.platform import Platform

if TYPE_CHECKING:
    from hatch_krust.oci.layout import Layout

__all__ = [
    "INDEX_ANNOTATION",
    "archive_documents",
    "image_name",
    "index_behind",
]

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
INDEX_ANNOTATION = "dev.hatch-krust.image.index"


def image_name(repository: str | None, name: str, tag: str) -> str:
    """The name `docker load` and `podman load` give: `<repository or localhost/name>:<tag>`."""
    return f"{repository or f'localhost/{name}'}:{tag}"


def archive_documents(layout: Layout) -> dict[str, bytes]:
    """`index.json` as the archive holds it, and Docker's files when an image is named.

    An entry is presented as its platform manifests only if it is an image index that
    carries a full name (`io.containerd.image.name`, set by the build); any other entry,
    e.g. one written by `copy` or `merge`, is archived as the layout has it.
    """
    index = layout.index()
    entries: list[dict[str, Any]] = []
    named: list[tuple[str, Descriptor]] = []
    for raw in index.get("manifests", []):
        entry = Descriptor.from_json(raw)
        name = entry.annotations.get(CONTAINERD_IMAGE_NAME)
        if name is None or entry.media_type not in INDEX_TYPES:
            entries.append(raw)
            continue
        for child in _platform_manifests(layout, entry):
            entries.append(child.to_json())
            named.append((name, child))
    documents = {"index.json": canonical_json({**index, "manifests": entries})}
    if named:
        documents.update(_docker_documents(layout, named))
    return documents


def _platform_manifests(layout: Layout, entry: Descriptor) -> list[Descriptor]:
    """The index's image manifests, named like the entry and pointing back at the index."""
    annotations = {**entry.annotations, INDEX_ANNOTATION: entry.digest}
    children = [Descriptor.from_json(d) for d in layout.read_json(entry.digest)["manifests"]]
    return [
        Descriptor(
            media_type=child.media_type,
            digest=child.digest,
            size=child.size,
            annotations=annotations,
            platform=child.platform,
        )
        for child in children
        if child.media_type in MANIFEST_TYPES
        and child.platform is not None
        and child.platform.os != "unknown"  # attestations and other non-images
    ]


def _docker_documents(layout: Layout, named: list[tuple[str, Descriptor]]) -> dict[str, bytes]:
    """`manifest.json` and `repositories` (Docker's archive format) for one image per name.

    Docker keeps one image per name, so of several platforms the host's is chosen (else
    the first). Paths point into the OCI blobs, as `docker save` writes them since 25;
    the engine decompresses gzip layers itself.
    """
    arch = Platform.host().architecture
    chosen: dict[str, Descriptor] = {}
    for name, manifest in sorted(named, key=lambda item: _architecture(item[1]) != arch):
        chosen.setdefault(name, manifest)
    items: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    for name, manifest in sorted(chosen.items()):
        document = layout.read_json(manifest.digest)
        layers = [_blob_path(layer["digest"]) for layer in document.get("layers", [])]
        repository, _, tag = name.rpartition(":")
        items.append(
            {"Config": _blob_path(document["config"]["digest"]), "Layers": layers,
             "RepoTags": [_familiar(name)]}
        )
        if layers:
            top = layers[-1].rpartition("/")[2]
            repositories.setdefault(_familiar(repository), {})[tag] = top
    return {"manifest.json": canonical_json(items), "repositories": canonical_json(repositories)}


def _blob_path(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def _architecture(manifest: Descriptor) -> str:
    return manifest.platform.architecture if manifest.platform is not None else ""


def _familiar(name: str) -> str:
    """Docker's short spelling: no `docker.io/`, no `library/` for official images."""
    if not name.startswith("docker.io/"):
        return name
    short = name[len("docker.io/"):]
    if short.startswith("library/") and "/" not in short[len("library/"):]:
        short = short[len("library/"):]
    return short


def index_behind(layout: Layout, entry: Descriptor) -> Descriptor:
    """The image index an archive entry was listed for (see the module docstring), else it."""
    digest = entry.annotations.get(INDEX_ANNOTATION)
    if entry.media_type not in MANIFEST_TYPES or not digest or not layout.has_blob(digest):
        return entry
    document = layout.read_json(digest)
    if document.get("mediaType") not in INDEX_TYPES:
        return entry
    annotations = {k: v for k, v in entry.annotations.items() if k != INDEX_ANNOTATION}
    return Descriptor(
        media_type=str(document["mediaType"]),
        digest=digest,
        size=layout.blob_path(digest).stat().st_size,
        annotations=annotations,
    )
