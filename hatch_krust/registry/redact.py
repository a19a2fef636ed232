"""Redaction: URLs and text are scrubbed before they reach a message, log line or exception.

Registries put session state and pre-signed credentials in query strings (`_state`,
`X-Amz-*`, SAS `sig`), and users put passwords in URLs; none of it may be printed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["SAFE_QUERY_KEYS", "redact_url"]

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
