"""Leftovers of killed builds in the cache, removed on the next run.

A build killed mid-way (SIGKILL, a CI timeout, a full disk) leaves its staging
directories (`.krust-build-*`) and half-written files (`*.partial`) behind; nothing else
ever removes them. A later build removes those older than `STALE_AFTER` that no running
build holds: a build holds its staging directory with a shared `flock` (`in_use`) for as
long as it writes there, and the kernel drops the lock when the process dies, however it
dies. The age guards what older hatch-krust versions write without a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

__all__ = ["BUILD_PREFIX", "STALE_AFTER", "in_use", "remove_stale"]

log = logging.getLogger("hatch_krust")

BUILD_PREFIX = ".krust-build-"
STALE_AFTER = 6 * 3600.0  # seconds: longer than any build writes one staging directory


@contextlib.contextmanager
def in_use(path: Path) -> Iterator[None]:
    """Hold `path` (a directory or file) with a shared lock while a build writes it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def remove_stale(
    directory: Path, patterns: Iterable[str], *, older_than: float = STALE_AFTER
) -> list[Path]:
    """Remove the entries of `directory` matching a glob of `patterns` that are older than
    `older_than` seconds and not locked; return them. Never fails: another build may be
    removing the same leftovers, and a cache that cannot be tidied still works."""
    removed: list[Path] = []
    deadline = time.time() - older_than
    for pattern in patterns:
        try:
            candidates = sorted(directory.glob(pattern))
        except OSError:
            continue
        for path in candidates:
            with contextlib.suppress(OSError):
                if _remove_if_stale(path, deadline):
                    removed.append(path)
    if removed:
        log.debug("removed %d leftovers of killed builds in %s", len(removed), directory)
    return removed


def _remove_if_stale(path: Path, deadline: float) -> bool:
    info = path.lstat()
    if info.st_mtime > deadline or not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return False  # fresh, or a link or device: not ours
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a running build holds it
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path)
        else:
            path.unlink()
    finally:
        os.close(fd)
    return True
