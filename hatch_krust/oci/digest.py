"""Content digests: validated by grammar before they reach a URL or a path."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from hatch_krust.errors import InvalidReference

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["check_digest", "is_digest", "sha256_bytes", "sha256_file"]

_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$")
_CHUNK = 1 << 20


def is_digest(value: str) -> bool:
    """True for `sha256:<64 hex>` or `sha512:<128 hex>`, lower case."""
    return bool(_DIGEST.fullmatch(value))


def check_digest(value: str) -> str:
    """Return `value` if it is a valid digest, else raise InvalidReference."""
    if not is_digest(value):
        message = f"Invalid digest {value[:80]!r}: expected sha256:<64 lowercase hex digits>"
        raise InvalidReference(message)
    return value


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Digest of a file, read in chunks so memory does not grow with its size."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
