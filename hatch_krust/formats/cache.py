"""A content-addressed cache of built executables, safe for concurrent builds.

An entry is a directory named by the SHA-256 of every input that changes the output; its
`meta.json` records the executable's file name, size and SHA-256, and a hit is served only
after the file is hashed again (cheap against a freeze): a damaged entry is a miss.
It is filled in a temporary directory beside it and renamed into place, so a reader
sees a whole entry or none. A per-key lock makes a second build of the same inputs wait
for the first and then reuse its result instead of freezing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.leftovers import BUILD_PREFIX, in_use, remove_stale
from hatch_krust.oci.canonical import canonical_json
from hatch_krust.oci.digest import sha256_file

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["CacheEntry", "ExecutableCache", "cache_key", "file_lock"]


def cache_key(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(inputs))).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    executable: Path
    meta: dict[str, Any]


class ExecutableCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "executables"

    def _entry_dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> CacheEntry | None:
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[CacheEntry | None, str]:
        """The entry for `key` once its executable matches the recorded size and SHA-256;
        else None and, when an entry was there but unusable, why (for a warning)."""
        entry = self._entry_dir(key)
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, ""
        except (OSError, ValueError, RecursionError):
            meta = None
        name = meta.get("executable") if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or not _plain_name(name):
            return None, f"The cache entry {entry} has an unusable meta.json; freezing again"
        if not isinstance(meta.get("sha256"), str):
            problem = f"The cache entry {entry} records no digest (an older hatch-krust)"
            return None, f"{problem}; freezing again"
        executable = entry / str(name)
        digest = _digest_of(executable, meta.get("size"))
        if digest is None or digest != meta.get("sha256"):
            return None, (
                f"The cached executable {executable} does not match its recorded digest;"
                " freezing again"
            )
        return CacheEntry(executable, meta), ""

    def put(self, key: str, executable: Path, meta: Mapping[str, Any]) -> CacheEntry:
        """Store a copy of `executable`; if another build stored it first, keep theirs."""
        final = self._entry_dir(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(final.parent, (f"{BUILD_PREFIX}*",))
        staging = Path(tempfile.mkdtemp(prefix=f"{BUILD_PREFIX}{key[:12]}-", dir=final.parent))
        try:
            with in_use(staging):
                self._fill(staging, final, key, executable, meta)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        entry = self.get(key)
        if entry is None:  # pragma: no cover - only on a disk that loses writes
            message = f"The cache entry {final} could not be written"
            raise OSError(message)
        return entry

    def _fill(
        self, staging: Path, final: Path, key: str, executable: Path, meta: Mapping[str, Any]
    ) -> None:
        shutil.copy2(executable, staging / executable.name)
        record = {
            **meta,
            "executable": executable.name,
            "size": executable.stat().st_size,
            "sha256": sha256_file(executable).split(":", 1)[1],
        }
        (staging / "meta.json").write_text(json.dumps(record, indent=2, sort_keys=True))
        try:
            staging.rename(final)
        except OSError:
            if self.get(key) is None:  # a broken entry: replace it
                shutil.rmtree(final, ignore_errors=True)
                staging.rename(final)

    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Hold an exclusive lock on `key` while checking and filling it."""
        return file_lock(self.root / f"{key[:16]}.lock")


def _plain_name(name: object) -> bool:
    """A file name inside the entry: no directories, no `..`, not the metadata itself."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..", "meta.json")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


def _digest_of(path: Path, size: object) -> str | None:
    """The SHA-256 hex of a regular file (not a link) of exactly `size` bytes, else None."""
    try:
        status = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode) or status.st_size != size:
        return None
    return sha256_file(path).split(":", 1)[1]


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `path` (created if missing), shared by processes and threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
