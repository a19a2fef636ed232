"""Every error hatch-krust raises on purpose, in one tree (as httpx's `_exceptions.py`).

    KrustError                      anything the user can act on; printed without a traceback
    ├── ConfigError (ValueError)    a bad option; the message names its TOML path or variable
    ├── FreezeError                 the executable could not be made (names the stage)
    │   └── ToolFailed              a freezing tool exited non-zero (callers name the stage)
    ├── InvalidReference (ValueError)  a malformed image reference or digest
    ├── ImageError                  an image/layout that is malformed or lacks a platform
    │   ├── DescriptorError (ValueError)  a descriptor in an untrusted document is misshapen
    │   └── PlatformMissing         an index has no image for the platform asked for
    ├── VerificationError           an image and its attached SBOM/provenance disagree
    ├── BuildFailed                 a project built by `resolve` failed (quotes its stderr)
    ├── EngineError                 no local container engine, or it could not load the image
    └── RegistryError               a registry said no, or could not be reached
        ├── AuthError               credentials were missing, wrong or not allowed
        ├── HTTPError               an unexpected HTTP status (with the registry's codes)
        └── TransportFailure        the connection failed (DNS, refused, reset, timed out)

Messages say what is wrong and how to fix it, and never contain a secret: they are
shown to the user as they are. A test walks every exception class in hatch_krust and
requires it to derive from KrustError and to be named in this tree.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "INTERRUPTED",
    "AuthError",
    "BuildFailed",
    "ConfigError",
    "DescriptorError",
    "EngineError",
    "FreezeError",
    "HTTPError",
    "ImageError",
    "InvalidReference",
    "KrustError",
    "PlatformMissing",
    "RegistryError",
    "ToolFailed",
    "TransportFailure",
    "VerificationError",
    "failure",
    "redact_userinfo",
]

# `[scheme://]user[:password]@` (or `//user…@`) at the start of a word, unless what follows
# the `@` is a digest (`repo@sha256:…` is a reference, not a login).
_USERINFO = re.compile(
    r"""(?:^|(?<=[\s'"(<\[=,`]))((?:[A-Z_][A-Z0-9_]*=)?(?:[A-Za-z][A-Za-z0-9+.-]*://|/+)?)"""
    r"""[^\s/@'"`]+@"""
    r"(?![A-Za-z0-9]+(?:[+._-][A-Za-z0-9]+)*:[0-9A-Fa-f]{32,})"
)


def redact_userinfo(text: str) -> str:
    """`text` with every `user:password@` before a host replaced by `***@`.

    Users type credentials into references (`alice:pw@host/repo`, `https://u:p@host`,
    `docker://u:p@host/repo`) and repository settings; no message may echo them.
    KrustError applies it to every message, so callers need it only for other output.
    """
    return _USERINFO.sub(r"\1***@", text)


class KrustError(Exception):
    """Base class: the message is complete and safe to print as it is.

    Text arguments lose any `user:password@` (see `redact_userinfo`), whoever raised it.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact_userinfo(a) if isinstance(a, str) else a for a in args))


class ConfigError(KrustError, ValueError):
    """An option has the wrong type or value."""


class FreezeError(KrustError):
    """Making the static executable failed; `output` holds the tool's log, if any."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class ToolFailed(FreezeError):
    """A tool exited non-zero; callers turn this into a FreezeError that names their stage."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"{args[0]} exited with status {returncode}", output)
        self.args_ = tuple(args)
        self.returncode = returncode


class InvalidReference(KrustError, ValueError):
    """An image reference or digest does not follow the grammar."""


class ImageError(KrustError):
    """An image, index or layout is malformed or does not have what was asked for."""


class DescriptorError(ImageError, ValueError):
    """A descriptor in an untrusted document has the wrong shape (also a ValueError, so
    parsers that wrap ValueErrors add their own context)."""


class PlatformMissing(ImageError):
    """An index has no image for the platform asked for; `offered` is what it has (as
    `linux/arm64/v8`), for a caller that words its own message."""

    def __init__(self, message: str, offered: tuple[str, ...]) -> None:
        super().__init__(message)
        self.offered = offered


class VerificationError(KrustError):
    """The image and its attachments do not agree; the message lists every problem."""


class BuildFailed(KrustError):
    """One project's build under `resolve` failed; the message quotes its last lines."""


class EngineError(KrustError):
    """Loading into a local engine (`krust.local`) failed: none found, or it said no."""


class RegistryError(KrustError):
    """A registry request failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(RegistryError):
    """Credentials were missing, rejected, or would have gone to the wrong host."""


class HTTPError(RegistryError):
    """A registry answered with an unexpected status; the message is already redacted.

    `temporary` says whether trying again later may succeed (408/429/5xx, or an OCI
    error code such as TOOMANYREQUESTS).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int,
        codes: tuple[str, ...] = (),
        retry_after: float | None = None,
        temporary: bool = False,
    ) -> None:
        super().__init__(message, status)
        self.method = method
        self.url = url
        self.codes = codes
        self.retry_after = retry_after
        self.temporary = temporary

    @property
    def is_temporary(self) -> bool:
        """True when trying again later may succeed."""
        return self.temporary


class TransportFailure(RegistryError):
    """The connection failed; `temporary` is False when retrying cannot help (an unknown
    host, a refused connection, an untrusted certificate)."""

    def __init__(self, message: str, *, temporary: bool = True) -> None:
        super().__init__(message)
        self.temporary = temporary


INTERRUPTED = 130  # the shell's status for a program ended by SIGINT (128 + 2)


def failure(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit status the user gets for `exc` at an edge (the CLI, the
    builder, the wheel hook), or None for a bug, which keeps its traceback.

    Our errors print as they are; an operating-system error (a full disk, a read-only or
    missing directory, `KRUST_CACHE_DIR` under a file) as its reason and path; Ctrl-C as
    "interrupted" with status 130.
    """
    if isinstance(exc, KrustError):
        return str(exc), 1
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", INTERRUPTED
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = ""
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT
            hint = "; free some space (the cache is KRUST_CACHE_DIR) and build again"
        elif exc.errno in (13, 20, 30):  # EACCES, ENOTDIR, EROFS
            hint = (
                "; check that the directory exists and is writable "
                "(KRUST_CACHE_DIR, the output directory)"
            )
        return redact_userinfo(f"{reason}: {where}".rstrip(": ") + hint), 1
    return None
