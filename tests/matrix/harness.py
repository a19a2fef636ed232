"""Build pinned sdists of real projects from PyPI with hatch-krust, as a new user would.

Each project is unpacked from its sdist (checked against a pinned SHA-256) and built with
`python -m hatchling build -t krust:binary` in a fresh environment holding what hatch's
own frontend would install for the krust target: `[build-system].requires`, the
`dependencies` of the project's global build hooks, and hatch-krust. The executable is
kept in hatch-krust's default cache, so a rerun with unchanged inputs only checks it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hatch_krust.python import find_uv

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SIMPLE = "https://pypi.org/simple/{name}/"


@dataclass(frozen=True)
class RealProject:
    name: str
    version: str
    sha256: str
    env: dict[str, str] = field(default_factory=dict)  # KRUST_* options, build switches


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch_sdist(project: RealProject, into: Path) -> Path:
    """Download the pinned sdist (PyPI's JSON simple API), check it, unpack it."""
    import json

    request = urllib.request.Request(
        SIMPLE.format(name=_canonical(project.name)),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        files = json.load(answer)["files"]
    wanted = f"{_canonical(project.name)}-{project.version}.tar.gz"
    entry = next(f for f in files if _canonical(f["filename"]) == _canonical(wanted))
    with urllib.request.urlopen(entry["url"], timeout=120) as answer:
        data = answer.read()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == project.sha256, f"{entry['filename']}: sha256 {digest} is not the pinned one"
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


def frontend_requirements(root: Path) -> list[str]:
    """What hatch would install to build the krust target of this project."""
    data = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    system = data.get("build-system", {})
    needs = (
        list(system.get("requires", [])) if system.get("build-backend") == "hatchling.build" else []
    )
    hooks = data.get("tool", {}).get("hatch", {}).get("build", {}).get("hooks", {})
    for hook in hooks.values():
        needs += list(hook.get("dependencies", []))
    return [*needs, "hatchling"]


def build_environment(root: Path, plugin_dir: Path, venv: Path) -> Path:
    uv = find_uv(os.environ)
    assert uv is not None
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "-q", "--python", str(python)]
    subprocess.run([*install, *frontend_requirements(root), str(plugin_dir)], check=True)
    return python


@dataclass(frozen=True)
class Built:
    """A project built by `build_executable`: its executable and how it was made."""

    executable: Path
    seconds: float
    root: Path
    python: Path
    env: dict[str, str]


def _hatchling(built_root: Path, python: Path, target: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(python), "-m", "hatchling", "build", "-t", target],
        cwd=built_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def build_executable(project: RealProject, plugin_dir: Path, tmp_path: Path) -> Built:
    """`python -m hatchling build -t krust:binary` of the pinned sdist, timed."""
    root = fetch_sdist(project, tmp_path / "sdist")
    python = build_environment(root, plugin_dir, tmp_path / "frontend")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRUST_", "HATCH_"))}
    if os.environ.get("KRUST_CACHE_DIR"):  # a cold run: KRUST_CACHE_DIR=$(mktemp -d)
        env["KRUST_CACHE_DIR"] = os.environ["KRUST_CACHE_DIR"]
    env.pop("VIRTUAL_ENV", None)
    env.update(project.env)
    started = time.monotonic()
    _hatchling(root, python, "krust:binary", env)
    took = time.monotonic() - started
    (exe,) = sorted((root / "dist" / "krust").iterdir())
    return Built(exe, took, root, python, env)


def image_layout(built: Built, tmp_path: Path) -> Path:
    """The project's image (`-t krust`, the static format unless `built.env` names one,
    base `scratch`; the executable comes from the cache) copied by skopeo into an OCI
    layout, tagged `run`."""
    env = {"KRUST_FORMAT": "static", **built.env, "KRUST_BASE_IMAGE": "scratch"}
    env["KRUST_PUSH"] = "false"
    _hatchling(built.root, built.python, "krust", env)
    (archive,) = sorted((built.root / "dist" / "krust").glob("*.oci.tar"))
    layout = tmp_path / "layout"
    done = subprocess.run(
        ["skopeo", "copy", f"oci-archive:{archive}", f"oci:{layout}:run"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return layout


@contextmanager
def running_in_chroot(
    executable: Path, args: list[str], tmp_path: Path, files: dict[str, str], env: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    """Start `executable` in an empty root: a mounted /proc, a 1777 /tmp, /dev/null, `files`."""
    root = tmp_path / "chroot"
    (root / "proc").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    # What every container runtime provides (OCI runtime spec, "Default Devices"); some
    # programs (tox, subprocess with DEVNULL) need /dev/null. See docs/what-freezes.md.
    (root / "dev").mkdir()
    os.mknod(root / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (root / "dev" / "null").chmod(0o666)
    for inside, text in files.items():
        path = root / inside.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / executable.name).write_bytes(executable.read_bytes())
    (root / executable.name).chmod(0o755)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    process = subprocess.Popen(
        [shutil.which("chroot") or "/usr/sbin/chroot", str(root), f"/{executable.name}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={"PATH": "/", **env},
        start_new_session=True,  # its own process group: servers fork workers
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


def http_get(url: str, process: subprocess.Popen[str], deadline: float = 90.0) -> str:
    """GET `url` once the server answers; fail with its output if it dies first."""
    end = time.monotonic() + deadline
    while True:
        if process.poll() is not None:
            said = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the server ended ({process.returncode}):\n{said}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)


def run_once(
    executable: Path,
    args: list[str],
    tmp_path: Path,
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run `executable` to its end in an empty root: (exit status, its output)."""
    with running_in_chroot(executable, args, tmp_path, files or {}, env or {}) as process:
        output, _ = process.communicate(timeout=120)
        return process.returncode, output


@dataclass(frozen=True)
class RealWheel:
    """A pinned wheel from PyPI, built into an image through the `wheel` option.

    For projects whose sdist hatchling cannot build (a Rust program, a setuptools
    project): a minimal hatch project of the same name and version, with the wheel's
    console scripts, points `wheel` (KRUST_WHEEL) at the downloaded wheel, as a user who
    builds wheels elsewhere would.
    """

    name: str
    version: str
    filename: str
    sha256: str
    scripts: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def fetch_wheel(project: RealWheel, into: Path) -> Path:
    """Download the pinned wheel (PyPI's JSON simple API) and check its digest."""
    import json

    request = urllib.request.Request(
        SIMPLE.format(name=_canonical(project.name)),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        files = json.load(answer)["files"]
    entry = next(f for f in files if f["filename"] == project.filename)
    with urllib.request.urlopen(entry["url"], timeout=300) as answer:
        data = answer.read()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == project.sha256, f"{project.filename}: sha256 {digest} is not the pinned one"
    into.mkdir(parents=True, exist_ok=True)
    (into / project.filename).write_bytes(data)
    return into / project.filename


def wheel_project(project: RealWheel, plugin_dir: Path, tmp_path: Path) -> Built:
    """The hatch project around the pinned wheel, and its frontend environment; no build yet
    (`Built.executable` is the wheel)."""
    root = tmp_path / "project"
    wheel = fetch_wheel(project, root / "wheels")
    scripts = "".join(f'{name} = "{target}"\n' for name, target in project.scripts.items())
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{project.name}"\nversion = "{project.version}"\n\n'
        f"[project.scripts]\n{scripts}"
    )
    python = build_environment(root, plugin_dir, tmp_path / "frontend")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRUST_", "HATCH_"))}
    if os.environ.get("KRUST_CACHE_DIR"):
        env["KRUST_CACHE_DIR"] = os.environ["KRUST_CACHE_DIR"]
    env.pop("VIRTUAL_ENV", None)
    env.update({"KRUST_BASE_IMAGE": "scratch", "KRUST_PUSH": "false"})
    env.update({"KRUST_WHEEL": f"wheels/{project.filename}", **project.env})
    return Built(wheel, 0.0, root, python, env)


def build_failure(built: Built, target: str, env: dict[str, str]) -> str:
    """Run a build that must fail; its output (stderr and stdout)."""
    done = subprocess.run(
        [str(built.python), "-m", "hatchling", "build", "-t", target],
        cwd=built.root,
        env={**built.env, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def image_of(built: Built, tmp_path: Path, image_format: str) -> Path:
    """`-t krust` in `image_format` on scratch, copied into an OCI layout tagged `run`."""
    env = {**built.env, "KRUST_FORMAT": image_format}
    tmp_path.mkdir(parents=True, exist_ok=True)
    return image_layout(Built(built.executable, 0.0, built.root, built.python, env), tmp_path)


def executable_of(built: Built) -> Path:
    """`-t krust:binary` (static): the executable."""
    shutil.rmtree(built.root / "dist", ignore_errors=True)
    _hatchling(built.root, built.python, "krust:binary", built.env)
    (exe,) = sorted((built.root / "dist" / "krust").iterdir())
    return exe
