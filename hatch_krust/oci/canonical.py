"""Canonical JSON: the same document always gives the same bytes, so the same digest.

Also the one place that turns untrusted JSON bytes (manifests, configs, blobs) into an
object, with the same two messages everywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hatch_krust.errors import ImageError

__all__ = ["MAX_DOCUMENT", "canonical_json", "json_object"]

MAX_DOCUMENT = 4 << 20  # manifests, indexes, configs, index.json: never more than 4 MiB
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # `\ud800`: maybe half a pair
# (json.loads also takes UTF-16/32 and surrogate bytes, so non-ASCII input is checked too)


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def json_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse `data` as a JSON object; ImageError names `what` ("The manifest of X", …)."""
    try:
        document = json.loads(data)
    except ValueError:  # not JSON, or not UTF-8/16/32
        message = f"{what} is not valid JSON"
        raise ImageError(message) from None
    except RecursionError:
        message = f"{what} nests JSON arrays or objects too deeply to read"
        raise ImageError(message) from None
    if not isinstance(document, dict):
        message = f"{what} is not a JSON object"
        raise ImageError(message)
    maybe = not data.isascii() or _SURROGATE_ESCAPE.search(data) is not None
    if maybe and not _encodable(document):
        message = f"{what} holds a lone UTF-16 surrogate (such as `\\ud800`), which is no text"
        raise ImageError(message)
    return document


def _encodable(document: Any) -> bool:
    """False when a string in `document` cannot be UTF-8 (a lone surrogate escape parses
    but cannot be written back, so every later digest would fail)."""
    try:
        canonical_json(document)
    except UnicodeEncodeError:
        return False
    return True
