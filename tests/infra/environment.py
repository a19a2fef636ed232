"""The hermetic environment tests run in: their own HOME, XDG directories and Docker config,
no `REGISTRY_AUTH_FILE`, no `KRUST_*` variable. Nothing of the machine's user — its
credentials, a root-only `/run/containers`, its config, an unwritable home — reaches a test.

tests/conftest.py applies it to every test (`hermetic`, autouse). A module- or
session-scoped fixture runs before that, so one that runs tools for pure tests wraps its
work in `hermetic_environment(...)` itself.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["CREDENTIAL_PLACES", "HOME_PLACES", "hermetic_environment", "point_at"]

# Where a user's registry credentials are looked for (besides HOME's own places).
CREDENTIAL_PLACES = {"XDG_RUNTIME_DIR": "run", "DOCKER_CONFIG": "docker"}
# HOME and what derives from it: config, caches, data.
HOME_PLACES = {
    "HOME": "home",
    "XDG_CONFIG_HOME": "config",
    "XDG_CACHE_HOME": "cache",
    "XDG_DATA_HOME": "data",
    "XDG_STATE_HOME": "state",
}


def point_at(root: Path, patch: pytest.MonkeyPatch, *, home: bool = True) -> None:
    """Point the user's places at directories under `root` (HOME, the runtime directory and
    an empty Docker config exist).

    Without `home` (an `infra` test), HOME and the XDG config, cache and data directories
    stay the process's: pip's index settings, uv's and PyInstaller's caches, git's identity.
    """
    places = dict(CREDENTIAL_PLACES)
    if home:
        places.update(HOME_PLACES)
    for name, sub in places.items():
        patch.setenv(name, str(root / sub))
    (root / "home").mkdir(exist_ok=True)
    # Both exist, as on a real machine: podman stats $DOCKER_CONFIG/config.json when the
    # variable is set, and a runtime directory is private to its user.
    (root / "run").mkdir(mode=0o700, exist_ok=True)
    (root / "docker").mkdir(exist_ok=True)
    (root / "docker" / "config.json").write_text('{"auths": {}}\n')
    patch.delenv("REGISTRY_AUTH_FILE", raising=False)
    for name in [name for name in os.environ if name.startswith("KRUST_")]:
        patch.delenv(name)


@contextlib.contextmanager
def hermetic_environment(root: Path) -> Iterator[Path]:
    """The hermetic environment for the block (a scoped fixture's own work); `root` holds it."""
    with pytest.MonkeyPatch.context() as patch:
        point_at(root, patch)
        yield root
