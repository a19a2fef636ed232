"""Reading small response bodies (manifests, tokens, error documents) with a size cap and
an overall deadline: a registry that drips one byte every few seconds never trips a
per-read timeout, so the whole read gets a clock."""

from __future__ import annotations

import time

import httpx

from hatch_krust.errors import RegistryError
from hatch_krust.registry.redact import redact_url

__all__ = ["DOCUMENT_TIMEOUT", "read_capped"]

DOCUMENT_TIMEOUT = 60.0  # seconds for a whole small document (see Options.document_timeout)


def read_capped(
    response: httpx.Response,
    limit: int,
    *,
    truncate: bool = False,
    timeout: float = DOCUMENT_TIMEOUT,
    raw: bool = False,
) -> bytes:
    """The body, reading at most `limit` bytes within `timeout` seconds; over the limit
    is an error unless `truncate`; over the time is always an error. Closes the response.

    `raw` keeps any Content-Encoding (to rebuild the response from the bytes)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and not truncate:
        response.close()
        raise _too_large(response, limit)
    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    try:
        for chunk in response.iter_raw() if raw else response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if truncate:
                    break
                raise _too_large(response, limit)
            if time.monotonic() > deadline:
                raise _too_slow(response, timeout)
    except httpx.StreamConsumed:
        return response.content[:limit]
    finally:
        response.close()
    return b"".join(chunks)[:limit]


def _too_large(response: httpx.Response, limit: int) -> RegistryError:
    return RegistryError(
        f"{response.request.method} {redact_url(response.request.url)}: the response is "
        f"larger than {limit // 1024} KiB; refused"
    )


def _too_slow(response: httpx.Response, timeout: float) -> RegistryError:
    return RegistryError(
        f"{response.request.method} {redact_url(response.request.url)}: the registry took "
        f"more than {timeout:g} s to send a small document; giving up (a stalled or "
        "overloaded registry; try again later)"
    )
