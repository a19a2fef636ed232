"""Base images made by an independent tool (umoci), for tests that need a real base."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["BASE_TAG", "make_umoci_base"]

BASE_TAG = "base"


def make_umoci_base(root: Path) -> Path:
    """An OCI layout at `root`, tag `base`: a passwd with `app`, Env, User, a label, WorkingDir."""
    passwd = root.parent / f"{root.name}-passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
    image = f"{root}:{BASE_TAG}"
    commands = [
        ["umoci", "init", "--layout", str(root)],
        ["umoci", "new", "--image", image],
        ["umoci", "insert", "--image", image, str(passwd), "/etc/passwd"],
        [
            "umoci", "config", "--image", image,
            "--config.env", "LANG=C.UTF-8", "--config.env", "PATH=/usr/bin:/bin",
            "--config.user", "app", "--config.label", "from=base",
            "--config.workingdir", "/srv",
        ],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)
    return root
