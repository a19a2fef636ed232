"""An OCI image layout directory (image-spec `image-layout.md`): blobs by digest plus `index.json`.

It is where images are assembled, where bases are read from, and what the archive and the
registry module move. Every write is atomic (temp name + rename), so a crash never leaves a
blob whose name lies about its content.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from hatch_krust.errors import ImageError
from hatch_krust.oci.archive_names import INDEX_ANNOTATION, archive_documents, index_behind
from hatch_krust.oci.canonical import canonical_json, json_object
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.digest import check_digest
from hatch_krust.oci.mediatypes import INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "CONTAINERD_IMAGE_NAME",
    "REF_NAME",
    "Layout",
    "adopt_blob",
    "atomic_writer",
    "open_archive",
    "reachable_blobs",
    "write_archive",
]

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
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
        _atomic_write(root / "oci-layout", _LAYOUT_FILE)
        layout._write_index({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        return layout

    @classmethod
    def open(cls, root: Path) -> Layout:
        """Open an existing layout; ImageError if `root` is not one."""
        marker = root / "oci-layout"
        try:
            version = json.loads(marker.read_bytes()).get("imageLayoutVersion")
        except (OSError, ValueError, AttributeError):
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

    def read_blob(self, digest: str) -> bytes:
        """Read a small blob (a JSON document) whole, verifying its digest."""
        with self.open_blob(digest) as f:
            data = f.read()
        algorithm, expected = digest.split(":", 1)
        if hashlib.new(algorithm, data).hexdigest() != expected:
            message = f"Blob {digest} in {self.root} does not match its digest (corrupted layout)"
            raise ImageError(message)
        return data

    def read_json(self, digest: str) -> dict[str, Any]:
        """Read and parse a JSON blob (manifest, index, config)."""
        return json_object(self.read_blob(digest), f"Blob {digest} in {self.root}")

    def write_blob(self, data: bytes) -> str:
        """Store `data` and return its sha256 digest; a no-op if the blob is already there."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.is_file():
            _atomic_write(path, data)
        return digest

    def write_blob_from(self, stream: BinaryIO, digest: str, size: int) -> None:
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
        try:
            document = json.loads((self.root / "index.json").read_bytes())
        except (OSError, ValueError) as exc:
            message = f"Cannot read {self.root / 'index.json'}: {exc}"
            raise ImageError(message) from None
        if not isinstance(document, dict) or not isinstance(document.get("manifests", []), list):
            message = f"{self.root / 'index.json'} is not an OCI image index"
            raise ImageError(message)
        return document

    def descriptors(self) -> list[Descriptor]:
        """The entries of `index.json`, in order."""
        return [Descriptor.from_json(d) for d in self.index().get("manifests", [])]

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
        index = self.index()
        kept = [m for m in index.get("manifests", []) if not _same_entry(m, entry, tag)]
        index["manifests"] = [*kept, entry]
        self._write_index(index)

    def _write_index(self, index: dict[str, Any]) -> None:
        _atomic_write(self.root / "index.json", canonical_json(index))


def _same_entry(existing: dict[str, Any], new: dict[str, Any], tag: str | None) -> bool:
    """An entry is replaced if it carries the same tag, or is the same untagged digest."""
    if tag is not None:
        return bool((existing.get("annotations") or {}).get(REF_NAME) == tag)
    return bool(
        existing.get("digest") == new["digest"]
        and REF_NAME not in (existing.get("annotations") or {})
    )


class atomic_writer:
    """Write to a temp file beside `path`; rename onto `path` only if the block succeeds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._name = ""

    def __enter__(self) -> IO[bytes]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        self._file = os.fdopen(fd, "wb")
        return self._file

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._file is not None
        self._file.close()
        if exc_type is None:
            Path(self._name).chmod(0o644)
            Path(self._name).replace(self.path)
        else:
            Path(self._name).unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


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
    """Extract an OCI layout tar into a temporary directory, refusing anything unsafe.

    Only regular files and directories with relative names that stay inside are accepted:
    no absolute names, no `..`, no links or devices. The directory is removed on exit.
    """
    with tempfile.TemporaryDirectory(prefix="krust-archive-") as tmp:
        root = Path(tmp)
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    _extract_member(tar, member, root, path)
        except (OSError, tarfile.TarError) as exc:
            message = f"Cannot read the OCI archive {path}: {exc}"
            raise ImageError(message) from None
        yield Layout.open(root)


def _safe_name(name: str, archive: Path) -> PurePosixPath | None:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        message = f"The OCI archive {archive} holds an unsafe path {name!r}; refusing to extract it"
        raise ImageError(message)
    parts = [p for p in relative.parts if p != "."]
    return PurePosixPath(*parts) if parts else None


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, archive: Path
) -> None:
    relative = _safe_name(member.name, archive)
    if not (member.isreg() or member.isdir()):
        message = (
            f"The OCI archive {archive} holds {member.name!r}, which is not a regular file"
            " or directory (links and devices are refused)"
        )
        raise ImageError(message)
    if relative is None:
        return
    target = root.joinpath(*relative.parts)
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    assert source is not None
    with source, target.open("wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)


def write_archive(layout: Layout, path: Path, *, epoch: int | None = None) -> None:
    """Write the layout as a deterministic tar: sorted, mtime `epoch`, owners 0, fixed modes.

    Only what `index.json` reaches is written, so scratch blobs never leak into the archive.
    `epoch` defaults to SOURCE_DATE_EPOCH, else 0.
    """
    mtime = _default_epoch() if epoch is None else epoch
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


def _default_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else 0


def reachable_blobs(layout: Layout) -> set[str]:
    """Every blob digest reachable from `index.json` (manifests, configs, layers)."""
    seen: set[str] = set()
    pending = [Descriptor.from_json(d) for d in layout.index().get("manifests", [])]
    while pending:
        descriptor = pending.pop()
        if descriptor.digest in seen:
            continue
        if not layout.has_blob(descriptor.digest):
            if descriptor.urls:  # a foreign layer, fetched by the runtime from its URLs
                continue
            message = (
                f"Blob {descriptor.digest} ({descriptor.media_type}) is missing from {layout.root}"
            )
            raise ImageError(message)
        seen.add(descriptor.digest)
        pending += _children(layout, descriptor)
    return seen


def _children(layout: Layout, descriptor: Descriptor) -> list[Descriptor]:
    if descriptor.media_type in INDEX_TYPES:
        return [
            Descriptor.from_json(d)
            for d in layout.read_json(descriptor.digest).get("manifests", [])
        ]
    if descriptor.media_type in MANIFEST_TYPES:
        manifest = layout.read_json(descriptor.digest)
        entries = [manifest["config"], *manifest.get("layers", [])]
        return [Descriptor.from_json(d) for d in entries]
    return []
