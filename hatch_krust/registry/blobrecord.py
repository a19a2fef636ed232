"""Where each blob was last seen, per registry: the repositories a push can mount it from.

skopeo keeps the same kind of record (containers/image's "blob-info-cache": digest →
registry repositories, last seen first, at most 5 candidates tried); without one, pushing
a shared 200 MB layer to a second repository of a registry uploads it again.

The record is one small JSON file (`Options.blob_record`): `{"version": 1, "blobs":
{digest: [[host, repository], ...]}}`, most recent entry first, the most recently used
digest last. It holds digests, registry hosts and repository names only (never a
credential, URL, query or user name), is bounded (`PER_DIGEST` entries per digest,
`MAX_ENTRIES` in all), and is only a hint: a stale entry costs one refused mount, then the
blob is uploaded. A damaged file is ignored and rewritten; deleting it is always safe.
Changes are merged into the file under a lock and written to a temporary file renamed
over it, so concurrent pushes and readers never see half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import InvalidReference
from hatch_krust.oci.digest import is_digest
from hatch_krust.oci.reference import check_repository

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["MAX_ENTRIES", "MAX_FILE", "PER_DIGEST", "BlobRecord"]

log = logging.getLogger("hatch_krust.registry")

VERSION = 1
PER_DIGEST = 5  # repositories kept per digest (skopeo tries at most 5 candidates)
MAX_ENTRIES = 10_000  # (digest, host, repository) entries in all: under 1 MB
MAX_FILE = 4 << 20  # a larger file is not read (it was not written by us)
_HOST = re.compile(r"[a-z0-9.-]{1,253}(:[0-9]{1,5})?|\[[a-f0-9:]{2,39}\](:[0-9]{1,5})?")

Blobs = dict[str, list[tuple[str, str]]]


class BlobRecord:
    """One registry host's view of the record file; thread-safe, loaded on first use.

    `seen` and `forget` change the view at once and are written to the file by `save`
    (merged with what other processes wrote meanwhile). With `path` None nothing is kept.
    """

    def __init__(self, path: Path | None, host: str) -> None:
        self.path, self.host = path, host.lower()
        self._blobs: Blobs | None = None
        self._stamp: tuple[int, int, int] | None = None  # the file as loaded (unchanged?)
        self._changes: list[tuple[bool, str, str]] = []  # (seen?, digest, repository)
        self._lock = threading.Lock()

    def candidates(self, digest: str, exclude: str) -> list[str]:
        """Repositories of this host that held `digest`, most recent first."""
        with self._lock:
            entries = self._loaded().get(digest, [])
            return [repo for host, repo in entries if host == self.host and repo != exclude]

    def seen(self, digest: str, repository: str) -> None:
        """`repository` of this host holds `digest` (pushed, mounted, found or pulled)."""
        self._change(True, digest, repository)

    def forget(self, digest: str, repository: str) -> None:
        """`repository` did not give `digest` when asked: a stale entry."""
        self._change(False, digest, repository)

    def _change(self, seen: bool, digest: str, repository: str) -> None:
        if self.path is None or not _valid(digest, self.host, repository):
            return
        with self._lock:
            change = (seen, digest, repository)
            _apply(self._loaded(), self.host, change)
            self._changes.append(change)

    def _loaded(self) -> Blobs:
        if self._blobs is None:
            self._stamp = None if self.path is None else _stamp(self.path)
            self._blobs = {} if self.path is None else read_record(self.path)
        return self._blobs

    def save(self) -> None:
        """Merge this view's changes into the file; a failure only costs the hint."""
        with self._lock:
            changes, self._changes = self._changes, []
        if self.path is None or not changes:
            return
        try:
            with _file_lock(self.path):
                with self._lock:
                    unchanged = self._stamp is not None and self._stamp == _stamp(self.path)
                    blobs = dict(self._loaded()) if unchanged else read_record(self.path)
                if not unchanged:  # another process wrote meanwhile: merge into its file
                    for change in changes:
                        _apply(blobs, self.host, change)
                write_record(self.path, _trim(blobs))
                with self._lock:
                    if not unchanged:  # the view becomes the merged file, plus newer changes
                        for change in self._changes:
                            _apply(blobs, self.host, change)
                        self._blobs = blobs
                    self._stamp = _stamp(self.path)
        except OSError as exc:
            log.debug("blob record %s not updated: %s", self.path, exc)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Identity of the file's current version (inode, size, mtime), None if absent."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _apply(blobs: Blobs, host: str, change: tuple[bool, str, str]) -> None:
    """Put (host, repository) first for the digest, or drop it; at most PER_DIGEST kept."""
    seen, digest, repository = change
    entries = [e for e in blobs.pop(digest, []) if e != (host, repository)]
    if seen:
        entries.insert(0, (host, repository))
    if entries:
        blobs[digest] = entries[:PER_DIGEST]  # re-inserted: now the most recently used


def _trim(blobs: Blobs) -> Blobs:
    """At most MAX_ENTRIES entries: the least recently used digests go first."""
    total = sum(len(e) for e in blobs.values())
    while total > MAX_ENTRIES:
        total -= len(blobs.pop(next(iter(blobs))))
    return blobs


def _valid(digest: str, host: str, repository: str) -> bool:
    return is_digest(digest) and "\n" not in digest and _valid_place(host, repository)


@functools.lru_cache(maxsize=4096)
def _valid_place(host: str, repository: str) -> bool:
    """A `host[:port]` and a repository name, nothing else (a file holds few distinct ones)."""
    if not _HOST.fullmatch(host) or "\n" in repository:
        return False
    try:
        check_repository(repository)
    except InvalidReference:
        return False
    return True


def read_record(path: Path) -> Blobs:
    """The record's entries; a missing, oversized or damaged file reads as empty."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            msg = f"larger than {MAX_FILE} bytes"
            raise ValueError(msg)
        document = json.loads(data)
        return _parse(document)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        log.debug("blob record %s ignored (%s); it will be rewritten", path, exc)
        return {}


def _parse(document: Any) -> Blobs:
    if document.get("version") != VERSION:
        msg = "unknown version"
        raise ValueError(msg)
    blobs: Blobs = {}
    for digest, entries in document["blobs"].items():
        kept = [(h, r) for h, r in entries if isinstance(h, str) and isinstance(r, str)
                and _valid(digest, h, r)][:PER_DIGEST]
        if kept:
            blobs[digest] = kept
    return _trim(blobs)


def write_record(path: Path, blobs: Blobs) -> None:
    """Write to a temporary file beside `path`, then rename it over `path` (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": VERSION, "blobs": {d: [list(e) for e in v] for d, v in blobs.items()}}
    fd, name = tempfile.mkstemp(prefix=".blob-record-", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, separators=(",", ":"))
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise read-merge-write between processes (the lock file sits beside the record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
