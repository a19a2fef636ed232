"""Canonical JSON: the same document always gives the same bytes, so the same digest.

Also the one place that turns untrusted JSON bytes (manifests, configs, blobs) into an
object, with the same two messages everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from hatch_krust.errors import ImageError

__all__ = ["MAX_DOCUMENT", "canonical_json", "json_object"]

MAX_DOCUMENT = 4 << 20  # manifests, indexes, configs, index.json: never more than 4 MiB


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
    return document
