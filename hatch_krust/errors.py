"""Every error hatch-krust raises on purpose.

    KrustError                      anything the user can act on; printed without a traceback
    ├── ConfigError (ValueError)    a bad option; the message names its TOML path or variable
    ├── FreezeError                 the executable could not be made (names the stage)
    ├── ReferenceError_             a malformed image reference
    ├── ImageError                  an image/layout that is malformed or lacks a platform
    └── RegistryError               a registry said no, or could not be reached
        └── AuthError               credentials were missing, wrong or not allowed

Messages say what is wrong and how to fix it, and never contain a secret: they are
shown to the user as they are.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "FreezeError",
    "ImageError",
    "KrustError",
    "ReferenceError_",
    "RegistryError",
]


class KrustError(Exception):
    """Base class: the message is complete and safe to print as it is."""


class ConfigError(KrustError, ValueError):
    """An option has the wrong type or value."""


class FreezeError(KrustError):
    """Making the static executable failed; `output` holds the tool's log, if any."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class ReferenceError_(KrustError, ValueError):
    """An image reference does not follow the grammar."""


class ImageError(KrustError):
    """An image, index or layout is malformed or does not have what was asked for."""


class RegistryError(KrustError):
    """A registry request failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(RegistryError):
    """Credentials were missing, rejected, or would have gone to the wrong host."""
