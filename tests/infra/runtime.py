"""Run images and executables for real: umoci + runc, or an empty chroot.

Reusable by any test that needs proof that something runs with nothing around it. Both
helpers need root (mounts, namespaces). See /work/shared/notes/test-infrastructure.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

__all__ = ["have_runtime_tools", "run_image", "run_in_chroot"]

_TIMEOUT = 120


def have_runtime_tools() -> bool:
    """True when umoci and runc are installed and we are root."""
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("umoci", "runc"))


def run_image(
    layout_dir: Path,
    tag: str,
    tmp_path: Path,
    *,
    timeout: float = _TIMEOUT,
    args: list[str] | None = None,
    host_network: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Unpack `layout_dir:tag` with umoci and run it with runc; return the finished process.

    The container runs with the image's own entrypoint, user, env and working directory.
    The sandbox refuses setrlimit, so `process.rlimits` is dropped; no terminal is attached.
    """
    bundle = tmp_path / f"bundle-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout_dir}:{tag}", str(bundle)],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    config["process"].pop("rlimits", None)
    config["process"]["terminal"] = False
    if args is not None:  # like `docker run IMAGE ARGS...`: replaces Cmd, keeps Entrypoint
        config["process"]["args"] = [config["process"]["args"][0], *args]
    if host_network:  # reach servers the test runs on the host's loopback
        namespaces = config["linux"]["namespaces"]
        config["linux"]["namespaces"] = [n for n in namespaces if n["type"] != "network"]
    config_path.write_text(json.dumps(config))
    container = f"krust-test-{uuid.uuid4().hex[:12]}"
    try:
        return subprocess.run(
            ["runc", "run", "--bundle", str(bundle), container],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    finally:
        subprocess.run(["runc", "delete", "--force", container], capture_output=True, check=False)
        shutil.rmtree(bundle, ignore_errors=True)


def run_in_chroot(
    executable: Path, args: list[str], tmp_path: Path, *, timeout: float = _TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run `executable` in an empty root: only itself, a mounted /proc and a 1777 /tmp.

    If it runs here it needs nothing from the host. /proc is always unmounted afterwards.
    """
    root = tmp_path / f"chroot-{uuid.uuid4().hex[:8]}"
    (root / "proc").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    target = root / executable.name
    shutil.copy2(executable, target)
    target.chmod(0o755)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        return subprocess.run(
            [shutil.which("chroot") or "/usr/sbin/chroot", str(root), f"/{executable.name}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            env={"PATH": "/"},
        )
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)
