"""Retry policy: jittered exponential backoff that honours `Retry-After` within a cap.

Registries shed load with 429 and 5xx and reset connections under pressure; a push
that gives up on the first hiccup is useless in CI, one that never gives up is worse.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

__all__ = ["RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRY_STATUSES = frozenset({408, 429, 499, 500, 502, 503, 504, 522})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    The default is 5 attempts, 0.5 s doubling to at most 10 s, `Retry-After` honoured up
    to 60 s, and no retry begun after 300 s in total.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 10.0
    retry_after_cap: float = 60.0
    total: float = 300.0
    jitter: float = 0.2

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        wait: float = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return wait * (1.0 + random.uniform(-self.jitter, self.jitter))  # noqa: S311

    def allows(self, attempt: int, started: float, wait: float) -> bool:
        """True when retry number `attempt` may start after `wait` seconds."""
        return attempt < self.attempts and time.monotonic() - started + wait <= self.total


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    seconds = when.timestamp() - time.time()
    return seconds if seconds > 0 else None
