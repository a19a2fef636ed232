"""A content-addressed cache of built executables, safe for concurrent builds.

An entry is a directory named by the SHA-256 of every input that changes the output.
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
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.oci.canonical import canonical_json

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["CacheEntry", "ExecutableCache", "cache_key", "default_cache_dir", "file_lock"]


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """`KRUST_CACHE_DIR`, else `$XDG_CACHE_HOME/hatch-krust`, else `~/.cache/hatch-krust`."""
    if env.get("KRUST_CACHE_DIR"):
        return Path(env["KRUST_CACHE_DIR"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hatch-krust"


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
        entry = self._entry_dir(key)
        meta_path = entry / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        executable = entry / str(meta.get("executable", ""))
        if not executable.is_file() or executable.stat().st_size != meta.get("size"):
            return None
        return CacheEntry(executable, meta)

    def put(self, key: str, executable: Path, meta: Mapping[str, Any]) -> CacheEntry:
        """Store a copy of `executable`; if another build stored it first, keep theirs."""
        final = self._entry_dir(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=final.parent))
        try:
            shutil.copy2(executable, staging / executable.name)
            record = {**meta, "executable": executable.name, "size": executable.stat().st_size}
            (staging / "meta.json").write_text(json.dumps(record, indent=2, sort_keys=True))
            try:
                staging.rename(final)
            except OSError:
                if self.get(key) is None:  # a broken entry: replace it
                    shutil.rmtree(final, ignore_errors=True)
                    staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        entry = self.get(key)
        if entry is None:  # pragma: no cover - only on a disk that loses writes
            message = f"The cache entry {final} could not be written"
            raise OSError(message)
        return entry

    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Hold an exclusive lock on `key` while checking and filling it."""
        return file_lock(self.root / f"{key[:16]}.lock")


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
