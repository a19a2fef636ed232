"""A deterministic gzip-compressed tar layer, streamed to a file.

The same entries and epoch always give the same bytes: entries are sorted, parents are
emitted explicitly, owners are fixed, modes are what the caller says, and the gzip header
carries no file name and mtime 0. Content is streamed, so memory does not grow with the
executable; the uncompressed digest (`diff_id`) and the compressed digest are computed on
the way through.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, cast

from hatch_krust.atomic import atomic_writer
from hatch_krust.errors import ImageError
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import IO

__all__ = [
    "Entry",
    "Layer",
    "bytes_entry",
    "dir_entry",
    "file_entry",
    "link_entry",
    "write_layer",
]

_COMPRESS_LEVEL = 6
_DIR_MODE = 0o755


@dataclass(frozen=True)
class Entry:
    """One tar entry: a directory, a file from a path or from bytes, or a symbolic link."""

    path: str
    mode: int
    source: Path | None = None
    data: bytes | None = None
    uid: int = 0
    gid: int = 0
    link: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.source is None and self.data is None and self.link is None

    @property
    def parts(self) -> tuple[str, ...]:
        return _normalise(self.path)


def file_entry(path: str, source: Path, mode: int = 0o755) -> Entry:
    """A regular file whose content is read (streamed) from `source`."""
    return Entry(path, mode, source=source)


def bytes_entry(path: str, data: bytes, mode: int = 0o644) -> Entry:
    """A regular file with the given content."""
    return Entry(path, mode, data=data)


def link_entry(path: str, target: str) -> Entry:
    """A symbolic link to `target` (absolute, or relative to the link's directory)."""
    return Entry(path, 0o777, link=target)


def dir_entry(path: str, mode: int = _DIR_MODE, uid: int = 0, gid: int = 0) -> Entry:
    """A directory, e.g. `dir_entry("/tmp", 0o1777)`."""
    return Entry(path, mode, uid=uid, gid=gid)


@dataclass(frozen=True)
class Layer:
    """A layer written to `path`: compressed digest/size and the uncompressed diff_id."""

    path: Path
    digest: str
    size: int
    diff_id: str
    media_type: str

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


def write_layer(
    entries: Iterable[Entry], path: Path, *, epoch: int = 0, media_type: str = OCI_LAYER_GZIP
) -> Layer:
    """Write `entries` as a gzip tar layer to `path` (atomically) and describe it."""
    ordered = _with_parents(entries)
    with atomic_writer(path) as raw:
        compressed = _HashingWriter(raw)
        with gzip.GzipFile(
            filename="",
            mode="wb",
            fileobj=cast("IO[bytes]", compressed),
            mtime=0,
            compresslevel=_COMPRESS_LEVEL,
        ) as gz:
            uncompressed = _HashingWriter(gz)
            with tarfile.open(
                fileobj=cast("IO[bytes]", uncompressed), mode="w", format=tarfile.PAX_FORMAT
            ) as tar:
                for entry in ordered:
                    _add(tar, entry, epoch)
    return Layer(path, compressed.digest(), compressed.size, uncompressed.digest(), media_type)


def _normalise(path: str) -> tuple[str, ...]:
    parts = tuple(p for p in PurePosixPath("/", path).parts[1:] if p != ".")
    if not parts or ".." in parts:
        message = f"Invalid path in image layer: {path!r}"
        raise ImageError(message)
    return parts


def _with_parents(entries: Iterable[Entry]) -> list[Entry]:
    """Sort by path components (parents first) and add missing parent directories."""
    by_parts: dict[tuple[str, ...], Entry] = {}
    for entry in entries:
        if entry.parts in by_parts:
            message = f"Path {entry.path!r} appears twice in the image layer"
            raise ImageError(message)
        by_parts[entry.parts] = entry
    for parts in list(by_parts):
        for depth in range(1, len(parts)):
            parent = parts[:depth]
            existing = by_parts.setdefault(parent, dir_entry("/" + "/".join(parent)))
            if not existing.is_dir:
                message = f"{'/'.join(parent)!r} is a file in the image layer but has children"
                raise ImageError(message)
    return [by_parts[k] for k in sorted(by_parts)]


def _add(tar: tarfile.TarFile, entry: Entry, epoch: int) -> None:
    info = tarfile.TarInfo("/".join(entry.parts))
    info.mtime = epoch
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    if entry.is_dir:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif entry.link is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = entry.link
        tar.addfile(info)
    elif entry.data is not None:
        info.size = len(entry.data)
        tar.addfile(info, io.BytesIO(entry.data))
    else:
        assert entry.source is not None
        info.size = entry.source.stat().st_size
        with entry.source.open("rb") as f:
            tar.addfile(info, f)


class _HashingWriter:
    """A write-only stream that hashes and counts what passes through to `inner`."""

    def __init__(self, inner: IO[bytes] | gzip.GzipFile) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        self._inner.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._inner.flush()

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()
