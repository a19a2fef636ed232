"""`WWW-Authenticate` parsing (RFC 9110): several challenges, any case, quoted strings.

Registries send `Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`, Nexus sends
`BASIC`, proxies add `Negotiate`; a regex that expects one `key="value"` list breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Challenge", "parse_challenges", "pick_challenge"]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # noqa: S105 - RFC 9110 token
_SCHEME = re.compile(rf"\s*,*\s*({_TOKEN})\s*")
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))\s*,?')
_TOKEN68 = re.compile(r"\s*[A-Za-z0-9\-._~+/]+=*\s*(?:,|$)")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic", "bearer", ...
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in one `WWW-Authenticate` value, in order; junk is skipped."""
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        scheme_match = _SCHEME.match(header, pos)
        if not scheme_match:
            break
        pos = scheme_match.end()
        params: dict[str, str] = {}
        while (param := _PARAM.match(header, pos)) is not None:
            value = param.group(2)
            value = re.sub(r"\\(.)", r"\1", value) if value is not None else param.group(3)
            params[param.group(1).lower()] = value
            pos = param.end()
        if not params and (t68 := _TOKEN68.match(header, pos)) is not None:
            pos = t68.end()
        out.append(Challenge(scheme_match.group(1).lower(), params))
    return out


def pick_challenge(headers: list[str]) -> Challenge | None:
    """The challenge to answer: Bearer over Basic; None if neither is offered."""
    challenges = [c for value in headers for c in parse_challenges(value)]
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None
