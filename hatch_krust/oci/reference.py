"""Image references parsed and normalised the way Docker and skopeo read them.

A reference is validated by grammar before any part of it reaches a URL or a path,
so a hostile string cannot smuggle a path or a query into a registry request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hatch_krust.errors import InvalidReference, redact_userinfo
from hatch_krust.oci.digest import is_digest

__all__ = ["DOCKER_HUB", "Reference", "check_repository", "parse_reference"]

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HUB_API = "registry-1.docker.io"
_HOST_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"^(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[a-fA-F0-9:]+\])(?::[0-9]{{1,5}})?$"
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
_MAX_NAME = 255


@dataclass(frozen=True)
class Reference:
    """A normalised reference: `registry/repository[:tag][@digest]`.

    `registry` is `docker.io` for Docker Hub (its API lives at `api_host`);
    a reference without tag or digest gets the tag `latest`.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def name(self) -> str:
        """`registry/repository`, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What goes after `/manifests/`: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        """The host:port the registry API answers on (Docker Hub's differs from its name)."""
        return _HUB_API if self.registry == DOCKER_HUB else self.registry

    def with_digest(self, digest: str) -> Reference:
        """The same repository pinned to `digest` (the tag is dropped)."""
        _check_digest(digest)
        return replace(self, tag=None, digest=digest)

    def with_tag(self, tag: str) -> Reference:
        """The same repository at `tag` (any digest is dropped)."""
        _check_tag(tag)
        return replace(self, tag=tag, digest=None)

    def in_repository(self, repository: str) -> Reference:
        """The same registry, another repository, same tag and digest."""
        _check_repository(repository)
        return replace(self, repository=repository)

    @classmethod
    def parse(cls, text: str) -> Reference:
        return parse_reference(text)


def parse_reference(text: str) -> Reference:
    """Parse `[host[:port]/]repo[:tag][@digest]`; raise InvalidReference naming the fault."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference("Invalid image reference '': it is empty")
    if text != text.strip() or any(c.isspace() for c in text):
        msg = f"Invalid image reference {text[:200]!r}: it contains whitespace"
        raise InvalidReference(msg)
    shown = text[:200]
    if redact_userinfo(text) != text and not text.rpartition("@")[2].startswith("sha256:"):
        message = (
            f"Invalid image reference {shown!r}: a reference cannot carry a user name or "
            "password before the host; log in with `skopeo login HOST` or "
            "`docker login HOST` instead"
        )
        raise InvalidReference(message)  # KrustError redacts the userinfo it quotes
    rest, digest = _split_digest(text, shown)
    registry, path = _split_registry(rest)
    path, tag = _split_tag(path, shown)
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    _check_repository(path, shown)
    if len(f"{registry}/{path}") > _MAX_NAME:
        message = f"Invalid image reference {shown!r}: the name is longer than {_MAX_NAME}"
        raise InvalidReference(message)
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry=registry, repository=path, tag=tag, digest=digest)


def _split_digest(text: str, shown: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    rest, _, digest = text.partition("@")
    if not is_digest(digest):
        message = (
            f"Invalid image reference {shown!r}: the digest after '@' must be "
            "sha256:<64 lowercase hex digits>"
        )
        raise InvalidReference(message)
    return rest, digest


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, remainder = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN.fullmatch(first):
            message = f"Invalid image reference {text[:200]!r}: bad registry host {first!r}"
            raise InvalidReference(message)
        host = first.lower()
        return (DOCKER_HUB if host in _HUB_ALIASES else host), remainder
    return DOCKER_HUB, text


def _split_tag(path: str, shown: str) -> tuple[str, str | None]:
    name, sep, tag = path.rpartition(":")
    if not sep:
        return path, None
    if not _TAG.fullmatch(tag):
        message = (
            f"Invalid image reference {shown!r}: tag {tag[:130]!r} must be 1-128 of "
            "letters, digits, '_', '.', '-' and not start with '.' or '-'"
        )
        raise InvalidReference(message)
    return name, tag


def check_repository(path: str) -> str:
    """Return `path` if it is a valid repository name (`team/app`), else raise."""
    _check_repository(path)
    return path


def _check_repository(path: str, shown: str | None = None) -> None:
    shown = path if shown is None else shown
    if not path:
        msg = f"Invalid image reference {shown!r}: the repository is empty"
        raise InvalidReference(msg)
    if path != path.lower():
        message = f"Invalid image reference {shown!r}: the repository must be lowercase"
        raise InvalidReference(message)
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            message = (
                f"Invalid image reference {shown!r}: repository part {component[:80]!r} must "
                "be lowercase letters and digits separated by '.', '_', '__' or '-'"
            )
            raise InvalidReference(message)


def _check_tag(tag: str) -> None:
    if not _TAG.fullmatch(tag):
        message = f"Invalid tag {tag[:130]!r}: 1-128 of letters, digits, '_', '.', '-'"
        raise InvalidReference(message)


def _check_digest(digest: str) -> None:
    if not is_digest(digest):
        message = f"Invalid digest {digest[:80]!r}: expected sha256:<64 lowercase hex digits>"
        raise InvalidReference(message)
