"""An OCI image layout directory (image-spec `image-layout.md`): blobs by digest plus `index.json`.

It is where images are assembled, where bases are read from, and what the archive and the
registry module move. Every write is atomic (temp name + rename), so a crash never leaves a
blob whose name lies about its content.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import lzma
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from hatch_krust.atomic import atomic_writer, write_atomically
from hatch_krust.errors import ImageError, KrustError
from hatch_krust.oci.archive_names import INDEX_ANNOTATION, archive_documents, index_behind
from hatch_krust.oci.canonical import MAX_DOCUMENT, canonical_json, json_object
from hatch_krust.oci.descriptor import Descriptor, descriptor_list
from hatch_krust.oci.digest import check_digest, is_digest
from hatch_krust.oci.mediatypes import INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "CONTAINERD_IMAGE_NAME",
    "MAX_DEPTH",
    "REF_NAME",
    "Layout",
    "adopt_blob",
    "open_archive",
    "reachable_blobs",
    "walk",
    "write_archive",
]

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
_MAX_MARKER = 64 << 10
_CHUNK = 1 << 20


class Layout:
    """An OCI image layout rooted at `root`; blobs live in `blobs/<alg>/<hex>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"Layout({str(self.root)!r})"

    @classmethod
    def create(cls, root: Path) -> Layout:
        """Make a new, empty layout, or open `root` if it already is one."""
        if (root / "oci-layout").exists():
            return cls.open(root)
        if root.exists() and any(root.iterdir()):
            message = f"Cannot create an OCI layout in {root}: the directory is not empty"
            raise ImageError(message)
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        layout = cls(root)
        write_atomically(_LAYOUT_FILE, root / "oci-layout")
        layout._write_index({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        return layout

    @classmethod
    def open(cls, root: Path) -> Layout:
        """Open an existing layout; ImageError if `root` is not one."""
        marker = root / "oci-layout"
        try:
            version = json.loads(_read_capped(marker, _MAX_MARKER)).get("imageLayoutVersion")
        except (OSError, ValueError, AttributeError, RecursionError):
            message = f"{root} is not an OCI image layout: no readable `oci-layout` file"
            raise ImageError(message) from None
        if not isinstance(version, str) or not version.startswith("1."):
            message = f"{root} is an OCI image layout of unsupported version {version!r}"
            raise ImageError(message)
        if not (root / "index.json").is_file():
            message = f"{root} is not an OCI image layout: `index.json` is missing"
            raise ImageError(message)
        return cls(root)

    # --- blobs -------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """Where a blob lives; the digest grammar is checked first, so no path tricks."""
        algorithm, hexdigest = check_digest(digest).split(":", 1)
        return self.root / "blobs" / algorithm / hexdigest

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def open_blob(self, digest: str) -> BinaryIO:
        path = self.blob_path(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            message = f"Blob {digest} is missing from the OCI layout {self.root}"
            raise ImageError(message) from None

    def verify_blob(self, descriptor: Descriptor) -> bool:
        """True if the blob is there with exactly the descriptor's size and digest."""
        algorithm, expected = descriptor.digest.split(":", 1)
        hasher, size = hashlib.new(algorithm), 0
        try:
            with self.blob_path(descriptor.digest).open("rb") as f:
                while (chunk := f.read(_CHUNK)) and size <= descriptor.size:
                    size += len(chunk)
                    hasher.update(chunk)
        except OSError:
            return False
        return size == descriptor.size and hasher.hexdigest() == expected

    def read_blob(self, digest: str, limit: int = MAX_DOCUMENT) -> bytes:
        """Read a small blob (a JSON document) whole, verifying its digest; at most `limit`
        bytes are read, so a huge blob costs no memory."""
        with self.open_blob(digest) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            message = f"Blob {digest} in {self.root} is larger than {limit >> 20} MiB; refused"
            raise ImageError(message)
        algorithm, expected = digest.split(":", 1)
        if hashlib.new(algorithm, data).hexdigest() != expected:
            message = f"Blob {digest} in {self.root} does not match its digest (corrupted layout)"
            raise ImageError(message)
        return data

    def read_json(self, digest: str, what: str = "") -> dict[str, Any]:
        """Read and parse a JSON blob (manifest, index, config) of at most 4 MiB."""
        return json_object(self.read_blob(digest), what or f"Blob {digest} in {self.root}")

    def read_config(self, descriptor: Descriptor, where: str) -> dict[str, Any]:
        """An image config: its declared size is checked before a byte is read."""
        if descriptor.size > MAX_DOCUMENT:
            message = f"The config of {where} is larger than 4 MiB; refused"
            raise ImageError(message)
        return self.read_json(descriptor.digest, f"The config of {where}")

    def write_blob(self, data: bytes) -> str:
        """Store `data` and return its sha256 digest; a no-op if the blob is already there."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.is_file():
            write_atomically(data, path)
        return digest

    def write_blob_from(self, stream: IO[bytes], digest: str, size: int) -> None:
        """Stream a blob in, verifying size and digest before it gets its name."""
        path = self.blob_path(digest)
        if path.is_file():
            return
        algorithm, expected = digest.split(":", 1)
        hasher = hashlib.new(algorithm)
        written = 0
        with atomic_writer(path) as out:
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > size:
                    message = f"Blob {digest} is larger than its declared size {size}"
                    raise ImageError(message)
                hasher.update(chunk)
                out.write(chunk)
            if written != size:
                message = f"Blob {digest} has {written} bytes, expected {size}"
                raise ImageError(message)
            if hasher.hexdigest() != expected:
                message = f"Blob content does not match its digest {digest}"
                raise ImageError(message)

    def write_blob_file(self, source: Path, digest: str, size: int) -> None:
        """Copy a blob from a local file (e.g. a layer just built), verified like a stream."""
        with source.open("rb") as f:
            self.write_blob_from(f, digest, size)

    def write_json(self, document: dict[str, Any]) -> tuple[str, int]:
        """Store a JSON document canonically; return its digest and size."""
        data = canonical_json(document)
        return self.write_blob(data), len(data)

    # --- index.json --------------------------------------------------------

    def index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        try:
            data = _read_capped(path, MAX_DOCUMENT)
        except OSError as exc:
            message = f"Cannot read {path}: {exc.strerror or exc}"
            raise ImageError(message) from None
        document = json_object(data, str(path))
        if not isinstance(document.get("manifests", []), list):
            message = f"{path} is not an OCI image index: `manifests` is not a list"
            raise ImageError(message)
        return document

    def descriptors(self) -> list[Descriptor]:
        """The entries of `index.json`, in order; ImageError for any malformed one."""
        return descriptor_list(self.index(), "manifests", str(self.root / "index.json"))

    def resolve(self, tag: str | None) -> Descriptor:
        """The entry named `tag` (ref.name annotation); None = the only entry."""
        entries = self.descriptors()
        if tag is None:
            if len({e.annotations.get(INDEX_ANNOTATION, e.digest) for e in entries}) == 1:
                return index_behind(self, entries[0])
            names = sorted(d.annotations.get(REF_NAME, "<untagged>") for d in entries)
            message = (
                f"The OCI layout {self.root} has {len(entries)} images; name one with :TAG"
                f" (tags: {', '.join(names) or 'none'})"
            )
            raise ImageError(message)
        for descriptor in entries:
            if descriptor.annotations.get(REF_NAME) == tag:
                return index_behind(self, descriptor)
        names = sorted(d.annotations[REF_NAME] for d in entries if REF_NAME in d.annotations)
        message = (
            f"The OCI layout {self.root} has no image tagged {tag!r}"
            f" (tags: {', '.join(names) or 'none'})"
        )
        raise ImageError(message)

    def add_manifest(
        self, descriptor: Descriptor, tag: str | None, *, image_name: str | None = None
    ) -> None:
        """Add an entry to `index.json`, replacing any entry with the same tag.

        `image_name` (a full reference, `registry/repo:tag`) is recorded as
        `io.containerd.image.name`, the name `docker load` (containerd image store) gives
        the image; `ref.name` holds only the tag, as the image-spec says.
        """
        annotations = dict(descriptor.annotations)
        if tag is not None:
            annotations[REF_NAME] = tag
        if image_name is not None:
            annotations[CONTAINERD_IMAGE_NAME] = image_name
        entry = Descriptor(
            media_type=descriptor.media_type,
            digest=descriptor.digest,
            size=descriptor.size,
            annotations=annotations,
            platform=descriptor.platform,
            artifact_type=descriptor.artifact_type,
            urls=descriptor.urls,
        ).to_json()
        self.descriptors()  # refuse to rewrite a malformed index
        index = self.index()
        kept = [m for m in index.get("manifests", []) if not _same_entry(m, entry, tag)]
        index["manifests"] = [*kept, entry]
        self._write_index(index)

    def _write_index(self, index: dict[str, Any]) -> None:
        write_atomically(canonical_json(index), self.root / "index.json")


def _same_entry(existing: dict[str, Any], new: dict[str, Any], tag: str | None) -> bool:
    """An entry is replaced if it carries the same tag, or is the same untagged digest."""
    if tag is not None:
        return bool((existing.get("annotations") or {}).get(REF_NAME) == tag)
    return bool(
        existing.get("digest") == new["digest"]
        and REF_NAME not in (existing.get("annotations") or {})
    )


def _read_capped(path: Path, limit: int) -> bytes:
    """A small file's bytes; OSError if it is larger than `limit` (never read whole)."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        message = f"larger than {limit} bytes"
        raise OSError(errno.EFBIG, message)
    return data


def adopt_blob(layout: Layout, source: Path, digest: str) -> None:
    """Move a file already known to hold `digest` into the layout (same file system)."""
    target = layout.blob_path(digest)
    if target.is_file():
        source.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    source.chmod(0o644)
    source.replace(target)


# --- archives (an OCI layout as one tar file: `oci-archive:`, `docker load`) ---------------


@contextlib.contextmanager
def open_archive(path: Path) -> Iterator[Layout]:
    """Read an OCI layout tar into a temporary layout, writing only what its index reaches.

    The archive is never extracted whole: `oci-layout` and `index.json` are read (4 MiB at
    most), then only the blobs the index reaches, each streamed in and checked against the
    digest and size of the descriptor that reaches it. So at most the sum of the declared
    sizes of the reachable blobs is written; members nobody references are never written,
    and a member larger than its descriptor is refused. Only regular files and directories
    with relative names that stay inside are accepted (no `..`, links or devices). The
    directory is removed on exit.
    """
    with tempfile.TemporaryDirectory(prefix="krust-archive-") as tmp:
        root = Path(tmp)
        try:
            with tarfile.open(path, "r:*") as tar:
                layout = _read_archive(tar, _members(tar, path), root, path)
        except KrustError:
            raise
        except _ARCHIVE_ERRORS as exc:
            message = f"Cannot read the OCI archive {path}: {exc}"
            raise ImageError(message) from None
        yield layout


# ValueError, OverflowError: tarfile's own parsing of a bad number (`GNU.sparse.size=x`)
_ARCHIVE_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error, lzma.LZMAError,
                   ValueError, OverflowError)
_MAX_MEMBERS = 20_000
_DOCUMENT_TYPES = INDEX_TYPES | MANIFEST_TYPES


def _members(tar: tarfile.TarFile, archive: Path) -> dict[str, tarfile.TarInfo]:
    """The archive's regular files by normalised name, after checking every member."""
    found: dict[str, tarfile.TarInfo] = {}
    for count, member in enumerate(tar, 1):
        if count > _MAX_MEMBERS:
            message = f"The OCI archive {archive} has more than {_MAX_MEMBERS} members; refused"
            raise ImageError(message)
        relative = _safe_name(member.name, archive)
        if not (member.isreg() or member.isdir()):
            message = (
                f"The OCI archive {archive} holds {member.name!r}, which is not a regular file"
                " or directory (links and devices are refused)"
            )
            raise ImageError(message)
        if relative is not None and member.isreg():
            found[str(relative)] = member
    return found


def _read_archive(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], root: Path, archive: Path
) -> Layout:
    for name, limit in (("oci-layout", _MAX_MARKER), ("index.json", MAX_DOCUMENT)):
        member = members.get(name)
        if member is None or member.size > limit:
            problem = "has no" if member is None else f"has an oversized ({member.size} bytes)"
            message = f"The OCI archive {archive} {problem} `{name}`; it is not an OCI layout"
            raise ImageError(message)
        write_atomically(_member_bytes(tar, member), root / name)
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    layout = Layout.open(root)

    def fetch(descriptor: Descriptor) -> bool:
        name = "blobs/" + descriptor.digest.replace(":", "/", 1)
        member = members.get(name)
        if member is None:
            return False  # left out: whoever needs it says it is missing
        if descriptor.media_type in _DOCUMENT_TYPES and descriptor.size > MAX_DOCUMENT:
            message = f"The OCI archive {archive} declares a {descriptor.size}-byte {name}; refused"
            raise ImageError(message)
        if member.size != descriptor.size:
            message = (
                f"The OCI archive {archive} holds {name} of {member.size} bytes, but its"
                f" descriptor says {descriptor.size}; refused"
            )
            raise ImageError(message)
        with _member_file(tar, member) as source:
            layout.write_blob_from(source, descriptor.digest, descriptor.size)
        return True

    offsets = {name: member.offset_data for name, member in members.items()}

    def order(descriptor: Descriptor) -> int:  # in archive order: no rewinding a gzip stream
        return offsets.get("blobs/" + descriptor.digest.replace(":", "/", 1), -1)

    walk(layout, [*layout.descriptors(), *_indexes_behind(layout, members)], fetch, order)
    return layout


def _indexes_behind(layout: Layout, members: dict[str, tarfile.TarInfo]) -> list[Descriptor]:
    """The image indexes our own archives list by annotation (`archive_names`): their
    platform manifests are in `index.json`, the index whose digest was pushed is not."""
    found: dict[str, Descriptor] = {}
    for entry in layout.descriptors():
        digest = entry.annotations.get(INDEX_ANNOTATION, "")
        member = members.get("blobs/" + digest.replace(":", "/", 1))
        if is_digest(digest) and member is not None and member.size <= MAX_DOCUMENT:
            found[digest] = Descriptor(OCI_INDEX, digest, member.size)
    return list(found.values())


def _member_file(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    source = tar.extractfile(member)
    assert source is not None  # a regular file always has content
    return source


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    with _member_file(tar, member) as source:
        return source.read(member.size)


def _safe_name(name: str, archive: Path) -> PurePosixPath | None:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        message = f"The OCI archive {archive} holds an unsafe path {name!r}; refusing to extract it"
        raise ImageError(message)
    parts = [p for p in relative.parts if p != "."]
    return PurePosixPath(*parts) if parts else None


def write_archive(layout: Layout, path: Path, *, epoch: int = 0) -> None:
    """Write the layout as a deterministic tar: sorted, mtime `epoch`, owners 0, fixed modes.

    Only what `index.json` reaches is written, so scratch blobs never leak into the archive.
    `epoch` is the caller's (a build's SOURCE_DATE_EPOCH as its configuration read it): this
    package reads no configuration.
    """
    mtime = epoch
    digests = sorted(reachable_blobs(layout))
    members: list[tuple[str, Path | bytes | None]] = [("blobs", None)]
    algorithms = sorted({"sha256"} | {d.split(":", 1)[0] for d in digests})
    members += [(f"blobs/{a}", None) for a in algorithms]
    members += [(f"blobs/{d.replace(':', '/')}", layout.blob_path(d)) for d in digests]
    members += [*archive_documents(layout).items(), ("oci-layout", layout.root / "oci-layout")]
    with (
        atomic_writer(path) as out,
        tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, source in sorted(members):
            _add_member(tar, name, source, mtime)


def _add_member(
    tar: tarfile.TarFile, name: str, source: Path | bytes | None, mtime: int
) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if source is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        return
    info.mode = 0o644
    if isinstance(source, bytes):
        info.size = len(source)
        tar.addfile(info, io.BytesIO(source))
        return
    info.size = source.stat().st_size
    with source.open("rb") as f:
        tar.addfile(info, f)


MAX_DEPTH = 16  # levels of indexes within indexes; real images use one or two


def walk(
    layout: Layout,
    roots: list[Descriptor],
    visit: Callable[[Descriptor], bool],
    order: Callable[[Descriptor], int] | None = None,
) -> None:
    """Visit every descriptor reachable from `roots` once, level by level, descending into
    those for which `visit` returns True; ImageError beyond MAX_DEPTH levels of nesting."""
    seen: set[str] = set()
    level, depth = roots, 0
    while level:
        if depth > MAX_DEPTH + 1:  # indexes, then a manifest, then its blobs
            message = f"{layout.root} nests indexes more than {MAX_DEPTH} deep; refused"
            raise ImageError(message)
        following: list[Descriptor] = []
        for descriptor in sorted(level, key=order) if order else level:
            if descriptor.digest in seen:
                continue
            seen.add(descriptor.digest)
            if visit(descriptor):
                following += _children(layout, descriptor)
        level, depth = following, depth + 1


def reachable_blobs(layout: Layout) -> set[str]:
    """Every blob digest reachable from `index.json` (manifests, configs, layers)."""
    found: set[str] = set()

    def present(descriptor: Descriptor) -> bool:
        if not layout.has_blob(descriptor.digest):
            if descriptor.urls:  # a foreign layer, fetched by the runtime from its URLs
                return False
            message = (
                f"Blob {descriptor.digest} ({descriptor.media_type}) is missing from {layout.root}"
            )
            raise ImageError(message)
        found.add(descriptor.digest)
        return True

    walk(layout, layout.descriptors(), present)
    return found


def _children(layout: Layout, descriptor: Descriptor) -> list[Descriptor]:
    kind = "index" if descriptor.media_type in INDEX_TYPES else "manifest"
    where = f"The {kind} {descriptor.digest} in {layout.root}"
    if descriptor.media_type in INDEX_TYPES:
        return descriptor_list(layout.read_json(descriptor.digest, where), "manifests", where)
    if descriptor.media_type in MANIFEST_TYPES:
        manifest = layout.read_json(descriptor.digest, where)
        config = descriptor_list({"config": [manifest.get("config")]}, "config", where)
        return config + descriptor_list(manifest, "layers", where)
    return []
