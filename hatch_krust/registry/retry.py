"""Retry policy: jittered exponential backoff that honours `Retry-After` within a cap.

Registries shed load with 429 and 5xx and reset connections under pressure; a push
that gives up on the first hiccup is useless in CI, one that never gives up is worse.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpx

from hatch_krust.errors import HTTPError, RegistryError, TransportFailure
from hatch_krust.registry.redact import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RETRY_STATUSES", "RetryPolicy", "is_transient", "parse_retry_after", "retrying"]

log = logging.getLogger("hatch_krust.registry")
R = TypeVar("R")

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


def is_transient(exc: RegistryError) -> bool:
    """True when the same request may succeed if tried again later."""
    return isinstance(exc, (TransportFailure, HTTPError)) and exc.temporary


def retrying(
    call: Callable[[], R],
    policy: RetryPolicy,
    doing: str,
    pause: Callable[[float], object] = time.sleep,
) -> R:
    """`call()`, tried again from the start within `policy` after a transient failure.

    The one retry loop of the module: a TransportFailure or HTTPError that says it is
    temporary, or a response with a retryable status (408, 429, 5xx; its `Retry-After`
    honoured), earns another attempt; once the policy is spent the error is raised, or
    the last response is returned for the caller to word. `pause` sleeps (an Event's
    `wait`, so that closing the registry ends the wait at once).
    """
    started, attempt = time.monotonic(), 0
    while True:
        attempt += 1
        try:
            result = call()
        except (TransportFailure, HTTPError) as exc:
            hint = exc.retry_after if isinstance(exc, HTTPError) else None
            wait = policy.delay(attempt, hint)
            if not exc.temporary or not policy.allows(attempt, started, wait):
                raise
            log.info("%s failed (%s); retrying in %.1f s", doing, exc, wait)
        else:
            if not isinstance(result, httpx.Response) or result.status_code not in RETRY_STATUSES:
                return result
            hint = parse_retry_after(result.headers.get("Retry-After"))
            wait = policy.delay(attempt, hint)
            if not policy.allows(attempt, started, wait):
                return result
            log.info("%s %s: %s; retrying in %.1f s", result.request.method,
                     redact_url(result.request.url), result.status_code, wait)
            result.close()
        pause(wait)
