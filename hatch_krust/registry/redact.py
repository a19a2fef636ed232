"""Redaction: URLs and text are scrubbed before they reach a message, log line or exception.

Registries put session state and pre-signed credentials in query strings (`_state`,
`X-Amz-*`, SAS `sig`), and users put passwords in URLs; none of it may be printed.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "SAFE_QUERY_KEYS",
    "RedactingFilter",
    "install_log_redaction",
    "printable",
    "redact_url",
]

# Query keys whose values are harmless and useful when reading an error.
SAFE_QUERY_KEYS = frozenset({"scope", "service", "mount", "from", "digest", "n", "last"})
_MASK = "REDACTED"


def redact_url(url: object) -> str:
    """`url` without userinfo and with every query value but the harmless ones masked."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    query = [
        (key, value if key in SAFE_QUERY_KEYS else _MASK)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe=":/"), ""))


def printable(text: str) -> str:
    """`text` with every non-printable character (escape sequences, `\r`, bidi overrides)
    shown as its Python escape: a registry's words must not drive the user's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class RedactingFilter(logging.Filter):
    """Redacts URLs in the records of loggers we do not own (httpx logs each request URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(a) if type(a).__name__ == "URL" or _looks_like_url(a) else a
                for a in record.args
            )
        return True


def _looks_like_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def install_log_redaction() -> None:
    """Make sure httpx's and httpcore's request logs never show secrets (idempotent)."""
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
