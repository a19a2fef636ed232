"""resolve's scan is linear in the number of references (issue 21 item 11): the line of
each was counted from the start of the text, so 100,000 lines took 44 s.

A complexity comparison, not a clock limit: eight times the lines must cost well under
the sixty-four times the CPU a quadratic scan costs, measured as the best of three."""

from __future__ import annotations

import time

import pytest

from hatch_krust.errors import KrustError
from hatch_krust.resolve.scan import find_references


def _cost(text: str, *, invalid: bool) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        if invalid:
            with pytest.raises(KrustError):
                find_references(text)
        else:
            find_references(text)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("invalid", [False, True])
def test_finding_references_is_linear(invalid: bool) -> None:
    def text(lines: int) -> str:
        value = "krust://" if invalid else "krust://app"
        return "".join(f"- image: {value}{i if not invalid else ''}\n" for i in range(lines))

    small, large = _cost(text(3_000), invalid=invalid), _cost(text(24_000), invalid=invalid)
    assert large < 24 * max(small, 1e-3), f"8x the lines cost {large / small:.1f}x the time"


def test_lines_are_still_right() -> None:
    text = "a: 1\n\nb: krust://one\n# krust://no\nc:\n  - krust://two\n"
    assert [(o.path, o.line) for o in find_references(text)] == [("one", 3), ("two", 6)]
    with pytest.raises(KrustError, match="<yaml>:2:"):
        find_references("a: 1\nb: krust://\n")
