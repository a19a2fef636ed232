"""Loading into a local container engine instead of pushing (ko's `ko.local`).

`KRUST_REPO=krust.local` (or `repository = "krust.local"`, or `krust.local/<prefix>`)
names no registry: the archive, already named `krust.local/<name>:<version>` for engines
(`oci/archive_names.py`), is given to `docker load -i` or `podman load -i`, each of the
`tags` is added with `docker tag` / `podman tag`, and the reference is that local name,
which `docker run` / `podman run` accept as it is.

The engine is the first of docker and podman on `PATH`, or the one
`KRUST_LOCAL_ENGINE` names: which engine a machine has is the machine's business, not the
project's, so it is an environment variable only. The engine runs with the build's
environment, so `DOCKER_HOST`, `CONTAINER_HOST`, `CONTAINERS_CONF` and the like apply.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import ConfigError, EngineError
from hatch_krust.publish import Published

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.building.built import BuiltImage
    from hatch_krust.progress import Reporter

__all__ = [
    "ENGINES",
    "ENGINE_VARIABLE",
    "LOCAL_REGISTRY",
    "LocalEngineDestination",
    "find_engine",
    "is_local",
]

LOCAL_REGISTRY = "krust.local"
ENGINES = ("docker", "podman")
ENGINE_VARIABLE = "KRUST_LOCAL_ENGINE"
_CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
_TAIL = 3  # the engine's last lines quoted when it fails


def is_local(repository: str) -> bool:
    """Whether a repository names the local engine rather than a registry."""
    return repository == LOCAL_REGISTRY or repository.startswith(f"{LOCAL_REGISTRY}/")


def find_engine(environ: Mapping[str, str]) -> tuple[str, str]:
    """(name, path) of the engine to load into: `KRUST_LOCAL_ENGINE`'s, else the first of
    docker and podman on the environment's `PATH`."""
    path = environ.get("PATH", os.defpath)
    chosen = environ.get(ENGINE_VARIABLE, "").strip()
    if chosen:
        if chosen not in ENGINES:
            message = (
                f"Environment variable `{ENGINE_VARIABLE}` is {chosen!r}: give "
                f"{' or '.join(ENGINES)}, or unset it to use whichever is installed"
            )
            raise ConfigError(message)
        found = shutil.which(chosen, path=path)
        if found is None:
            message = (
                f"`{ENGINE_VARIABLE}={chosen}` but {chosen} is not on PATH: install it, or "
                f"unset {ENGINE_VARIABLE} to use whichever of {' and '.join(ENGINES)} is there"
            )
            raise EngineError(message)
        return chosen, found
    for name in ENGINES:
        found = shutil.which(name, path=path)
        if found is not None:
            return name, found
    message = (
        f"No local container engine for `{LOCAL_REGISTRY}`: looked for "
        f"{' and '.join(ENGINES)} on PATH; install one, or set KRUST_REPO to a registry "
        "to push there instead"
    )
    raise EngineError(message)


@dataclass(frozen=True)
class LocalEngineDestination:
    """`engine` (docker | podman) at `binary`, run with `environ`; `tags` are added to the
    loaded image's name."""

    engine: str
    binary: str
    tags: tuple[str, ...]
    environ: Mapping[str, str]

    @classmethod
    def from_environment(
        cls, tags: tuple[str, ...], environ: Mapping[str, str]
    ) -> LocalEngineDestination:
        """Finds the engine now, so a machine without one fails before the build."""
        engine, binary = find_engine(environ)
        return cls(engine, binary, tags, environ)

    def publish(self, image: BuiltImage, reporter: Reporter) -> Published:
        name = loaded_name(image)
        reporter.display_waiting(f"Loading the image into {self.engine} as {name}")
        self._run("load", "-i", str(image.archive))
        self._run("image", "inspect", "--format", "{{.Id}}", name)  # docker run finds it
        repository = name.rpartition(":")[0]
        extra = [tag for tag in self.tags if f"{repository}:{tag}" != name]
        for tag in extra:
            self._run("tag", name, f"{repository}:{tag}")
        also = f" (tags: {', '.join(extra)})" if extra else ""
        reporter.display_success(f"Loaded {name} into {self.engine}{also}")
        # the SBOM and provenance stay files beside the archive: nothing to record per document
        return Published(name, tuple({} for _ in image.documents))

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                [self.binary, *args],
                env=dict(self.environ),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
        except OSError as exc:
            message = f"Could not run {self.binary}: {exc.strerror or exc}"
            raise EngineError(message) from None
        if done.returncode != 0:
            raise EngineError(self._failed(args, done))
        return done.stdout

    def _failed(self, args: tuple[str, ...], done: subprocess.CompletedProcess[str]) -> str:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines()]
        last = " / ".join([line for line in lines if line][-_TAIL:]) or "(no output)"
        stop = "" if last.endswith((".", "?", "!")) else "."
        where = " (DOCKER_HOST)" if self.engine == "docker" else ""
        other = next(e for e in ENGINES if e != self.engine)
        # the archive by its name: the staged path is gone when this is read
        shown = " ".join(Path(a).name if a.startswith("/") else a for a in args)
        return (
            f"`{self.engine} {shown}` failed (exit status {done.returncode}): {last}{stop} "
            f"Check that `{self.engine} info` works in this environment{where}, or set "
            f"{ENGINE_VARIABLE}={other} to load into {other}"
        )


def loaded_name(image: BuiltImage) -> str:
    """The name the archive gives the image when an engine loads it."""
    for entry in image.layout.index().get("manifests", []):
        annotations = entry.get("annotations") or {}
        name = annotations.get(_CONTAINERD_IMAGE_NAME)
        if entry.get("digest") == image.index.digest and isinstance(name, str) and name:
            return name
    message = f"The image archive {image.archive} names no image for an engine to load"
    raise EngineError(message)
