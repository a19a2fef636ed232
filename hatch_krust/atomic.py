"""Writing a file whole or not at all: a temporary name in the target's directory, then a
rename over the target, so a reader (or a crash) never sees half a file.

The one writer of the project: the OCI layout's blobs and archives, the executable cache's
copies and every file installed in `dist/krust/` go through `atomic_writer`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

__all__ = ["atomic_writer", "install_atomically", "write_atomically"]


class atomic_writer:
    """Write to a temp file beside `path`; rename onto `path` (with `mode`) only if the
    block succeeds, else remove the temp file. `parents`: make missing directories (else
    a missing one is the caller's OSError)."""

    def __init__(self, path: Path, mode: int = 0o644, *, parents: bool = True) -> None:
        self.path = path
        self.mode = mode
        self.parents = parents
        self._file: IO[bytes] | None = None
        self._name = ""

    def __enter__(self) -> IO[bytes]:
        if self.parents:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        fcntl.flock(fd, fcntl.LOCK_SH)  # in use: `leftovers.remove_stale` leaves it alone
        self._file = os.fdopen(fd, "wb")
        return self._file

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._file is not None
        try:
            self._file.close()
            if exc_type is None:
                Path(self._name).chmod(self.mode)
                Path(self._name).replace(self.path)
        finally:
            if exc_type is not None or Path(self._name).exists():
                Path(self._name).unlink(missing_ok=True)


def write_atomically(
    data: bytes, target: Path, mode: int = 0o644, *, parents: bool = True
) -> Path:
    """`data` into `target`, whole."""
    with atomic_writer(target, mode, parents=parents) as out:
        out.write(data)
    return target


def install_atomically(source: Path, target: Path, mode: int = 0o755) -> Path:
    """A copy of `source` at `target`, whole (an executable by default)."""
    with atomic_writer(target, mode) as out, source.open("rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
    return target
