"""Run images and executables for real: umoci + runc, or an empty chroot.

Reusable by any test that needs proof that something runs with nothing around it;
`start_image` keeps a server running in the background for the test's duration. All
helpers need root (mounts, namespaces). See /work/shared/notes/test-infrastructure.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RunningContainer",
    "have_runtime_tools",
    "image_entrypoint",
    "run_image",
    "run_in_chroot",
    "start_image",
]

_TIMEOUT = 120


def have_runtime_tools() -> bool:
    """True when umoci and runc are installed and we are root."""
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("umoci", "runc"))


def image_entrypoint(layout_dir: Path, tag: str) -> list[str]:
    """The whole Entrypoint of `layout_dir:tag` (the layered format's has several elements)."""
    from hatch_krust.oci.layout import Layout

    layout = Layout.open(layout_dir)
    index = json.loads(layout.blob_path(layout.resolve(tag).digest).read_bytes())
    if index.get("mediaType", "").endswith("index.v1+json") or "manifests" in index:
        index = json.loads(layout.blob_path(index["manifests"][0]["digest"]).read_bytes())
    config = json.loads(layout.blob_path(index["config"]["digest"]).read_bytes())
    return list(config["config"].get("Entrypoint") or [])


def _prepare_bundle(
    layout_dir: Path,
    tag: str,
    tmp_path: Path,
    *,
    timeout: float,
    args: list[str] | None,
    host_network: bool,
    env: Mapping[str, str] | None = None,
    read_only: bool = False,
) -> Path:
    """Unpack `layout_dir:tag` with umoci into a runc bundle and adjust its config.json.

    The sandbox refuses setrlimit, so `process.rlimits` is dropped; no terminal is attached.
    `args` replaces the image's Cmd (keeping its Entrypoint), `env` adds or replaces
    variables (like `docker run -e`), `host_network` shares the host's network namespace.
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
        config["process"]["args"] = [*image_entrypoint(layout_dir, tag), *args]
    if env:  # like `docker run -e NAME=VALUE`: replaces the image's value of NAME
        kept = [e for e in config["process"].get("env", []) if e.split("=", 1)[0] not in env]
        config["process"]["env"] = kept + [f"{k}={v}" for k, v in env.items()]
    if read_only:  # like `docker run --read-only`, and no /tmp volume either
        config["root"]["readonly"] = True
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/tmp"]
    if host_network:  # reach servers the test runs on the host's loopback
        namespaces = config["linux"]["namespaces"]
        config["linux"]["namespaces"] = [n for n in namespaces if n["type"] != "network"]
    config_path.write_text(json.dumps(config))
    return bundle


def run_image(
    layout_dir: Path,
    tag: str,
    tmp_path: Path,
    *,
    timeout: float = _TIMEOUT,
    args: list[str] | None = None,
    host_network: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Unpack `layout_dir:tag` with umoci and run it with runc; return the finished process.

    The container runs with the image's own entrypoint, user, env and working directory.
    """
    bundle = _prepare_bundle(
        layout_dir, tag, tmp_path, timeout=timeout, args=args, host_network=host_network, env=env
    )
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


@dataclass
class RunningContainer:
    """A container started by `start_image`; its output goes to files readable at any time."""

    name: str
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        """What the container printed so far (stdout, then stderr), for failure messages."""
        out = self.stdout_path.read_text(errors="replace")
        err = self.stderr_path.read_text(errors="replace")
        return f"stdout:\n{out}\nstderr:\n{err}"

    def signal(self, name: str) -> None:
        """`runc kill` the container's init process with signal `name` (e.g. TERM)."""
        subprocess.run(
            ["runc", "kill", self.name, name], capture_output=True, check=False, timeout=30
        )


@contextmanager
def start_image(
    layout_dir: Path,
    tag: str,
    tmp_path: Path,
    *,
    timeout: float = _TIMEOUT,
    args: list[str] | None = None,
    host_network: bool = False,
    env: Mapping[str, str] | None = None,
    read_only: bool = False,
) -> Iterator[RunningContainer]:
    """Like `run_image`, but for servers: start the container in the background and yield it.

    On exit the container is killed (if still running), waited for and deleted, and its
    bundle removed, whatever the test did. `read_only`: a read-only root without /tmp.
    """
    bundle = _prepare_bundle(
        layout_dir,
        tag,
        tmp_path,
        timeout=timeout,
        args=args,
        host_network=host_network,
        env=env,
        read_only=read_only,
    )
    name = f"krust-test-{uuid.uuid4().hex[:12]}"
    stdout_path, stderr_path = bundle.with_suffix(".out"), bundle.with_suffix(".err")
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            ["runc", "run", "--bundle", str(bundle), name],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    running = RunningContainer(name, process, stdout_path, stderr_path)
    try:
        yield running
    finally:
        if process.poll() is None:
            running.signal("KILL")
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)
        shutil.rmtree(bundle, ignore_errors=True)


def run_in_chroot(
    executable: Path,
    args: list[str],
    tmp_path: Path,
    *,
    timeout: float = _TIMEOUT,
    files: dict[str, Path] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `executable` in an empty root: only itself, a mounted /proc and a 1777 /tmp
    (plus `files`, absolute paths in the root -> their sources, to stand in for a host).

    If it runs here it needs nothing from the host. /proc is always unmounted afterwards.
    """
    root = tmp_path / f"chroot-{uuid.uuid4().hex[:8]}"
    (root / "proc").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    for inside, source in (files or {}).items():
        placed = root / inside.lstrip("/")
        placed.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, placed)
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
