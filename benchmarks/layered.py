"""Layered format (groundwork): start-up against a venv, layer sizes, an app-only rebuild.

For each program: install it in a venv with the pyenv Python, lay the venv out into layers
(hatch_krust.layered), assemble the image, unpack it with umoci, then time `--version`
(median of N runs, after 2 warm-ups):

  venv              VENV/bin/SCRIPT --version on the host (bytecode compiled, no PYTHON* vars)
  image            chroot ROOTFS /app/bin/python /opt/krust/pid1.py /app/bin/SCRIPT --version
  image as PID 1   the same under `unshare --pid --fork` (the launcher forks and supervises)
  image, no .pyc   the same with every __pycache__ removed and PYTHONDONTWRITEBYTECODE=1,
                   i.e. what a read-only root without pre-compiled bytecode pays at each start

Then a one-line change to the demo project: wheel + install, and plan + build of the layers
with the previous build's cache. Needs root (chroot, unshare), umoci and network (PyPI).

    sudo .venv/bin/python benchmarks/layered.py [--runs 20]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, code_note, code_state, log, med
from hatch_krust.layered import (
    assemble_layered,
    build_layers,
    entrypoint,
    host_interpreter,
    plan_layers,
)
from hatch_krust.oci.assemble import ImageOptions
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout
from hatch_krust.python import create_environment, probe_interpreter
from tests.freeze.conftest import PYENV_PYTHON, build_wheel

DEMO = REPO / "tests" / "layered" / "project"
# (label, what to install, distribution, console script, argument)
PROGRAMS = (
    ("demo (pyyaml)", DEMO, "krust-layered-demo", "krust-layered", "--version"),
    ("examples/hello (click)", REPO / "examples" / "hello", "hello", "hello", "--version"),
    ("pygmentize (Pygments 2.18.0)", "pygments==2.18.0", "Pygments", "pygmentize", "-V"),
    ("black 24.8.0", "black==24.8.0", "black", "black", "--version"),
)
ENV = {"PATH": "/app/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
HOST_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def install(what: Path | str, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    requirement = str(build_wheel(what, root / "wheel")) if isinstance(what, Path) else what
    venv = root / "venv"
    create_environment(PYENV_PYTHON, venv, [requirement], env=HOST_ENV)
    # A fair baseline: the venv with its bytecode, as pip leaves it (uv compiles none).
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "compileall", "-q", str(venv / "lib")], check=False)
    return venv


def build(venv: Path, dist: str, script: str, root: Path, cache: Path) -> tuple[Path, list]:
    interpreter = host_interpreter(probe_interpreter(PYENV_PYTHON, HOST_ENV))
    plan = plan_layers(interpreter, venv, dist, cache / "work")
    layers = build_layers(plan, cache, epoch=0)
    layout = Layout.create(root / "image")
    options = ImageOptions(script, Platform("linux", "amd64"))
    index = assemble_layered(None, layers, options, layout, entrypoint=entrypoint(plan, script))
    layout.add_manifest(index, "latest")
    return root / "image", list(layers)


def unpack(layout: Path, into: Path) -> Path:
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:latest", str(into)],
        check=True,
        capture_output=True,
    )
    return into / "rootfs"


def timed(commands: list[tuple[list[str], dict[str, str] | None]], runs: int) -> list[float]:
    """Median seconds of each command; rounds interleave them so load hits all alike."""
    for cmd, env in commands:
        for _ in range(2):
            subprocess.run(cmd, check=True, capture_output=True, env=env)
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for (cmd, env), kept in zip(commands, samples, strict=True):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            kept.append(time.perf_counter() - start)
    return [med(kept) for kept in samples]


def without_bytecode(rootfs: Path, into: Path) -> Path:
    shutil.copytree(rootfs, into, symlinks=True)
    for cache in list(into.rglob("__pycache__")):
        shutil.rmtree(cache)
    return into


def startup(label: str, what: Path | str, dist: str, script: str, arg: str, tmp: Path, runs: int):
    root = tmp / dist
    venv = install(what, root)
    layout, layers = build(venv, dist, script, root, root / "cache")
    rootfs = unpack(layout, root / "bundle")
    inside = ["/app/bin/python", "/opt/krust/pid1.py", f"/app/bin/{script}", arg]
    chroot, unshare = shutil.which("chroot") or "chroot", shutil.which("unshare") or "unshare"
    bare = without_bytecode(rootfs, root / "nopyc")
    venv_s, image_s, pid1_s, nopyc_s = timed(
        [
            ([str(venv / "bin" / script), arg], HOST_ENV),
            ([chroot, str(rootfs), *inside], ENV),
            ([unshare, "--pid", "--fork", chroot, str(rootfs), *inside], ENV),
            ([chroot, str(bare), *inside], {**ENV, "PYTHONDONTWRITEBYTECODE": "1"}),
        ],
        runs,
    )
    sizes = [(b.name, b.layer.size, _uncompressed(b.layer.path)) for b in layers]
    return label, venv_s, image_s, pid1_s, nopyc_s, sizes


def _uncompressed(path: Path) -> int:
    total = 0
    with gzip.open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    return total


def rebuild(tmp: Path) -> tuple[float, float, int, int]:
    """A one-line change to the demo: (install s, layers s, top layer bytes, image bytes)."""
    project = tmp / "edit" / "project"
    shutil.copytree(DEMO, project)
    cache = tmp / "krust-layered-demo" / "cache"
    init = project / "src/krust_layered/__init__.py"
    init.write_text(init.read_text().replace('"original"', '"edited"'))
    start = time.perf_counter()
    venv = install(project, tmp / "edit")
    installed = time.perf_counter()
    _, layers = build(venv, "krust-layered-demo", "krust-layered", tmp / "edit", cache)
    done = time.perf_counter()
    assert [b.cached for b in layers] == [True, True, True, False]
    total = sum(b.layer.size for b in layers)
    return installed - start, done - installed, layers[-1].layer.size, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    before = code_state()
    print(f"Start-up, median of {args.runs} runs (s): venv | image | image as PID 1 | no .pyc")
    with tempfile.TemporaryDirectory(prefix="krust-layered-bench-") as tmp:
        sizes = []
        for program in PROGRAMS:
            log(f"measuring {program[0]}")
            label, venv_s, image_s, pid1_s, nopyc_s, layers = startup(
                *program, Path(tmp), args.runs
            )
            ratio = image_s / venv_s
            row = f"{venv_s:.3f} | {image_s:.3f} ({ratio:.2f}x) | {pid1_s:.3f} | {nopyc_s:.3f}"
            print(f"  {label}: {row}", flush=True)
            parts = ", ".join(f"{n} {c / 1e6:.2f}/{u / 1e6:.2f}" for n, c, u in layers)
            sizes.append(f"  {label}: {parts}")
        print("Layers (compressed / uncompressed MB):", *sizes, sep="\n")
        log("one-line change to the demo")
        install_s, layers_s, top, total = rebuild(Path(tmp))
    print(
        f"One-line change to the demo: install {install_s:.2f} s, layers {layers_s:.2f} s, "
        f"new top layer {top} bytes of {total} ({100 * top / total:.3f} %)"
    )
    print(code_note(before, code_state()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
