"""The one way a test requires an external tool: it is found, or the test FAILS.

A missing tool is never a skip (a skipped test would pass as if it had run): the message
names the Debian package and says that `scripts/test.sh` installs it.
"""

from __future__ import annotations

import shutil

import pytest

__all__ = ["DEBIAN_PACKAGE", "require_tool"]

# The Debian package scripts/test.sh installs for each program the tests run.
DEBIAN_PACKAGE = {
    "docker-registry": "docker-registry",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "runc": "runc",
    "gcc": "gcc libc6-dev",
    "git": "git",
    "dpkg": "dpkg",
    "docker": "docker.io",
    "dockerd": "docker.io",
    "podman": "podman",
    "useradd": "passwd",
    "userdel": "passwd",
    "runuser": "util-linux",
}


def require_tool(name: str, *, debian_only: bool = False) -> str:
    """The path of program `name`; fail the calling test when it is not installed.

    With `debian_only`, the Debian package's own binary (/usr/bin, /usr/sbin) is preferred
    over another client earlier on PATH.
    """
    if debian_only:
        for directory in ("/usr/bin", "/usr/sbin"):
            candidate = shutil.which(name, path=directory)
            if candidate is not None:
                return candidate
    found = shutil.which(name)
    if found is None:
        package = DEBIAN_PACKAGE.get(name, name)
        pytest.fail(
            f"`{name}` is not installed (Debian: {package}); scripts/test.sh installs it",
            pytrace=False,
        )
    return found
