"""References parse and normalise the way Docker and skopeo read them."""

from __future__ import annotations

import pytest

from hatch_krust.errors import InvalidReference
from hatch_krust.oci.reference import Reference, parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("alpine:3.20", "docker.io", "library/alpine", "3.20", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("docker.io/alpine", "docker.io", "library/alpine", "latest", None),
        ("index.docker.io/library/alpine:1", "docker.io", "library/alpine", "1", None),
        ("registry-1.docker.io/user/app", "docker.io", "user/app", "latest", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", None),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", None),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
        ("ghcr.io/Org-Name/x".lower(), "ghcr.io", "org-name/x", "latest", None),
        ("Quay.IO/ns/app", "quay.io", "ns/app", "latest", None),
        (f"ghcr.io/o/app@{DIGEST}", "ghcr.io", "o/app", None, DIGEST),
        (f"ghcr.io/o/app:v2@{DIGEST}", "ghcr.io", "o/app", "v2", DIGEST),
        ("host.example:443/a__b/c-d.e:T_ag.1-x", "host.example:443", "a__b/c-d.e", "T_ag.1-x",
         None),
    ],
)
def test_parse(text: str, registry: str, repository: str, tag: str | None,
               digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag,
                                                                   digest)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("UPPER/app", "lowercase"),
        ("ghcr.io/Org/app", "lowercase"),
        ("app:", "tag"),
        ("app:.hidden", "tag"),
        ("app:" + "x" * 129, "tag"),
        ("app@sha256:abc", "digest"),
        ("app@sha256:" + "A" * 64, "digest"),
        ("app@md5:" + "a" * 32, "digest"),
        ("ghcr.io/../etc/passwd", "repository part"),
        ("ghcr.io/a//b", "repository part"),
        ("ghcr.io/a/b?x=1", "repository part"),
        ("bad_host.example:5000/a", "registry host"),
        ("with space/app", "whitespace"),
        ("ghcr.io/-a", "repository part"),
        ("ghcr.io/" + "a" * 260, "longer than"),
    ],
)
def test_malformed(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference, match=fragment):
        parse_reference(text)


def test_str_and_api_host() -> None:
    ref = parse_reference("alpine")
    assert str(ref) == "docker.io/library/alpine:latest"
    assert ref.api_host == "registry-1.docker.io"
    assert parse_reference("localhost:5000/a").api_host == "localhost:5000"
    assert str(parse_reference(str(ref))) == str(ref)


def test_with_digest_drops_tag() -> None:
    ref = parse_reference("ghcr.io/o/app:v1").with_digest(DIGEST)
    assert str(ref) == f"ghcr.io/o/app@{DIGEST}"
    assert ref.identifier == DIGEST
    with pytest.raises(InvalidReference):
        ref.with_digest("sha256:nothex")


def test_identifier_prefers_digest() -> None:
    assert Reference("r.io", "a", "v1", DIGEST).identifier == DIGEST
    assert Reference("r.io", "a", "v1").identifier == "v1"
