"""The registry module: push, pull and copy OCI images over the distribution API (httpx).

It knows nothing about Python projects. Public modules: this package and
`hatch_krust.registry.api` (everything below is re-exported from there); code outside
`registry/` imports nothing else from it. Every other module of the package (auth,
blobrecord, blobs, bodies, challenge, client, credentials, endpoints, locations,
manifests, options, probe, redact, referrers, repository, retry, security, trust,
upload) is private: it may change without notice, and the import-rule test refuses
imports of it from outside.
See docs/registry.md.
"""

from __future__ import annotations

# The package exports what `api` does, by its list: one list, kept in one place.
from hatch_krust.registry.api import *  # noqa: F403
from hatch_krust.registry.api import __all__ as __all__
