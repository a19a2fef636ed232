"""Small pure pieces: challenge parsing, redaction, retry policy, transport policy, locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatch_krust.errors import AuthError, InvalidReference
from hatch_krust.oci.reference import Reference
from hatch_krust.registry.challenge import parse_challenges, pick_challenge
from hatch_krust.registry.locations import LayoutLocation, parse_location
from hatch_krust.registry.redact import redact_url
from hatch_krust.registry.retry import RetryPolicy, parse_retry_after
from hatch_krust.registry.security import (
    check_realm,
    host_of,
    insecure_hosts,
    is_loopback,
    same_origin,
)
from hatch_krust.registry.upload import with_digest


def test_bearer_challenge_with_quotes_and_commas() -> None:
    (c,) = parse_challenges(
        'Bearer realm="https://auth.example/token",service="reg, one",'
        'scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    assert c.scheme == "bearer"
    assert c.realm == "https://auth.example/token"
    assert c.params["service"] == "reg, one"
    assert c.params["scope"] == "repository:a/b:pull,push"
    assert c.params["error"] == "insufficient_scope"


def test_several_challenges_any_case() -> None:
    challenges = parse_challenges('Negotiate, BASIC realm="Nexus", bearer realm=x')
    assert [c.scheme for c in challenges] == ["negotiate", "basic", "bearer"]
    assert challenges[1].realm == "Nexus"
    assert challenges[2].realm == "x"
    picked = pick_challenge(["Negotiate", 'BASIC realm="n"'])
    assert picked is not None
    assert picked.scheme == "basic"
    assert pick_challenge(["Negotiate abc=="]) is None


def test_escaped_quote_in_challenge() -> None:
    (c,) = parse_challenges(r'Basic realm="a \"quoted\" realm"')
    assert c.realm == 'a "quoted" realm'


def test_redaction() -> None:
    url = ("https://user:pw@s3.example/blob?X-Amz-Signature=abc&X-Amz-Credential=k&"
           "_state=secretstate&digest=sha256:aa&token=t0k&sig=s1g")
    out = redact_url(url)
    for secret in ("pw", "abc", "secretstate", "t0k", "s1g", "=k&"):
        assert secret not in out
    assert "digest=sha256:aa" in out
    assert out.startswith("https://s3.example/blob?")


def test_retry_policy() -> None:
    policy = RetryPolicy(base=1, cap=4, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 4]
    assert policy.delay(1, retry_after=100) == 60
    assert parse_retry_after("3") == 3
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None  # in the past
    assert parse_retry_after("soon") is None


def test_loopback_and_insecure(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_loopback("localhost:5000")
    assert is_loopback("127.0.0.5")
    assert is_loopback("[::1]:80")
    assert is_loopback("a.localhost")
    assert not is_loopback("10.0.0.1:5000")
    assert not is_loopback("localhost.evil.com")
    monkeypatch.setenv("KRUST_INSECURE_REGISTRIES", "reg.lan:5000, other.lan")  # not read here
    assert insecure_hosts(["X.lan", "http://y.lan/", ""]) == {"x.lan", "y.lan"}


def test_origins() -> None:
    assert host_of("https://Reg.IO:443/v2/") == "reg.io"
    assert same_origin("https://reg.io/v2/x", "https://reg.io:443")
    assert not same_origin("http://reg.io/v2/x", "https://reg.io")
    assert not same_origin("https://cdn.reg.io/x", "https://reg.io")


def test_realm_rules() -> None:
    check_realm("https://auth.docker.io/token", "https://registry-1.docker.io", http_allowed=False)
    with pytest.raises(AuthError, match="plain-http token server"):
        check_realm("http://auth.example/token", "https://reg.example", http_allowed=False)
    with pytest.raises(AuthError, match="internal address"):
        check_realm("https://169.254.169.254/latest", "https://reg.example", http_allowed=False)
    with pytest.raises(AuthError, match="unusable"):
        check_realm("file:///etc/passwd", "https://reg.example", http_allowed=False)
    check_realm("http://127.0.0.1:9/token", "http://127.0.0.1:5000", http_allowed=True)


def test_with_digest_keeps_query() -> None:
    assert with_digest("https://r/up/1?_state=a%2Bb&x=1", "sha256:ab") == (
        "https://r/up/1?_state=a%2Bb&x=1&digest=sha256:ab"
    )
    assert with_digest("/up/1", "sha256:ab") == "/up/1?digest=sha256:ab"


def test_locations() -> None:
    assert parse_location("oci:/tmp/lay:v1") == LayoutLocation(Path("/tmp/lay"), "v1", False)
    assert parse_location("oci-archive:img.tar") == LayoutLocation(Path("img.tar"), None, True)
    assert parse_location("docker://localhost:5000/a:b") == Reference("localhost:5000", "a", "b")
    assert parse_location("localhost:5000/a") == Reference("localhost:5000", "a", "latest")
    for bad in ("docker-archive:x.tar", "ftp://host/x", "containers-storage:x", "oci:",
                "oci:dir:bad tag"):
        with pytest.raises(InvalidReference):
            parse_location(bad)
