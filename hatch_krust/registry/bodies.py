"""Reading small response bodies (manifests, tokens, error documents) with a size cap and
an overall deadline: a registry that drips one byte every few seconds never trips a
per-read timeout, so the whole read gets a clock."""

from __future__ import annotations

import time
import zlib

import httpx

from hatch_krust.errors import RegistryError
from hatch_krust.registry.redact import redact_url

__all__ = ["ACCEPT_ENCODING", "DOCUMENT_TIMEOUT", "decode_capped", "read_capped"]

ACCEPT_ENCODING = "gzip, deflate"  # what decode_capped can bound; sent with every request
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

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

    `raw` keeps any Content-Encoding; otherwise the body is decoded here, never past
    `limit` decoded bytes (a gzip bomb of 4 MiB holds 4 GiB of zeros)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and not truncate:
        response.close()
        raise _too_large(response, limit)
    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    try:
        for chunk in response.iter_raw():
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
    data = b"".join(chunks)[:limit]
    if raw:
        return data
    decoded = decode_capped(response, data, limit + 1)
    if len(decoded) > limit and not truncate:
        raise _too_large(response, limit)
    return decoded[:limit]


def decode_capped(response: httpx.Response, data: bytes, limit: int) -> bytes:
    """`data` decoded as the response's Content-Encoding says, at most `limit` bytes per
    step: httpx would inflate a whole chunk at once, whatever it holds."""
    header = response.headers.get("Content-Encoding", "") if data else ""
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in _WBITS:
            response.close()
            message = (
                f"{response.request.method} {redact_url(response.request.url)}: the registry "
                f"sent an unsupported Content-Encoding ({coding[:40]!r}); refused"
            )
            raise RegistryError(message)
        data = _inflate(data, _WBITS[coding], limit)
    return data


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Inflate at most `limit` bytes; a deflate body may come with or without its header."""
    try:
        return zlib.decompressobj(wbits).decompress(data, limit)
    except zlib.error:
        if wbits != zlib.MAX_WBITS:
            return b""
    try:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, limit)
    except zlib.error:
        return b""


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
