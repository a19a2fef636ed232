"""Local container engines for tests: Debian's Docker 20.10 daemon and podman 4, for real.

Both are started by the tests themselves with all state in a temporary directory, so
nothing touches the machine's own engines or images:

- `start_docker(dir)` runs `dockerd` with the vfs storage driver and no networking
  (`--iptables=false --ip6tables=false --bridge=none`) on its own unix socket; its
  `docker(...)` runs the client with `DOCKER_HOST` pointing at it. Stopped by its pid file.
- `Podman(dir)` runs `podman --root/--runroot` with a `containers.conf` (named by
  `CONTAINERS_CONF`) whose `default_ulimits` stay below what this sandbox allows.

Both engines need root here. See docs/troubleshooting.md ("Local engines in the tests").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.infra.tools import require_tool

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["DockerDaemon", "Podman", "engine_binary", "start_docker"]

_TIMEOUT = 120


def engine_binary(name: str) -> str:
    """The Debian package's binary (`/usr/bin`), not another client earlier on PATH."""
    return require_tool(name, debian_only=True)


@dataclass
class DockerDaemon:
    """A running `dockerd`; `socket` is its API endpoint."""

    directory: Path
    socket: Path
    pidfile: Path
    log: Path

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        env["DOCKER_CONFIG"] = str(self.directory / "client")  # no user config, no credentials
        done = subprocess.run(
            [engine_binary("docker"), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=_TIMEOUT,
        )
        if check and done.returncode != 0:
            message = f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}"
            raise AssertionError(message)
        return done


@contextlib.contextmanager
def start_docker(directory: Path) -> Iterator[DockerDaemon]:
    """Run a private Docker daemon until the block ends (vfs storage, no networking)."""
    directory.mkdir(parents=True, exist_ok=True)
    daemon = DockerDaemon(
        directory, directory / "docker.sock", directory / "docker.pid", directory / "dockerd.log"
    )
    command = [
        engine_binary("dockerd"),
        "--storage-driver=vfs",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--data-root", str(directory / "data"),
        "--exec-root", str(directory / "exec"),
        "-H", f"unix://{daemon.socket}",
        "--pidfile", str(daemon.pidfile),
    ]  # fmt: skip
    with daemon.log.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_for_docker(daemon, process)
        yield daemon
    finally:
        _stop_docker(daemon, process)


def _wait_for_docker(daemon: DockerDaemon, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            message = f"dockerd exited: {daemon.log.read_text(errors='replace')[-3000:]}"
            raise RuntimeError(message)
        if daemon.socket.exists() and daemon.docker("version", check=False).returncode == 0:
            return
        time.sleep(0.2)
    message = f"dockerd did not answer within 60 s: {daemon.log.read_text()[-3000:]}"
    raise RuntimeError(message)


def _stop_docker(daemon: DockerDaemon, process: subprocess.Popen[bytes]) -> None:
    """Stop the daemon by its pid file (as dockerd documents), else by the process we started."""
    pid = process.pid
    with contextlib.suppress(OSError, ValueError):
        pid = int(daemon.pidfile.read_text().strip())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    # containerd-shim processes of finished containers are gone with --rm; the vfs data
    # directory is removed with the test's temporary directory.


class Podman:
    """podman with private storage under `directory` and a sandbox-safe containers.conf."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # podman refuses a run root longer than 50 characters: pytest's are longer.
        self.runroot = Path(tempfile.mkdtemp(prefix="krust-podman-", dir="/tmp"))
        self.conf = directory / "containers.conf"
        self.conf.write_text(
            '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        )

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CONTAINERS_CONF": str(self.conf)}
        command = [
            engine_binary("podman"),
            "--root", str(self.directory / "root"),
            "--runroot", str(self.runroot),
            "--tmpdir", str(self.directory / "tmp"),
            *args,
        ]  # fmt: skip
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=_TIMEOUT
        )
        if check and done.returncode != 0:
            message = f"podman {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}"
            raise AssertionError(message)
        return done

    def reset(self) -> None:
        """Remove what podman stored (its overlay mounts included) and its run root."""
        self("system", "reset", "--force", check=False)
        shutil.rmtree(self.runroot, ignore_errors=True)
