"""The registry module: push, pull and copy OCI images over the distribution API (httpx).

It knows nothing about Python projects. Entry points (see docs/registry.md):
`push_layout`, `copy`, `pull_manifest`, `pull_image`, `fetch_blob`, `inspect`.
"""

from __future__ import annotations

from hatch_krust.registry.api import (
    PulledImage,
    copy,
    fetch_blob,
    inspect,
    pull_image,
    pull_manifest,
    push_layout,
)
from hatch_krust.registry.credentials import Credentials
from hatch_krust.registry.manifests import Manifest
from hatch_krust.registry.options import Options, Progress
from hatch_krust.registry.retry import RetryPolicy

__all__ = [
    "Credentials",
    "Manifest",
    "Options",
    "Progress",
    "PulledImage",
    "RetryPolicy",
    "copy",
    "fetch_blob",
    "inspect",
    "pull_image",
    "pull_manifest",
    "push_layout",
]
