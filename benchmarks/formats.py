"""The two image formats side by side, through the real build (`python -m hatchling build`).

For examples/hello and two PyPI tools (wrapped in a one-script project), each format is
built cold (an empty KRUST_CACHE_DIR) on `scratch`, unpacked with umoci and run with
`chroot` (runc's own set-up, the same for both, is left out); the venv is the same
requirements installed with uv, bytecode compiled, run on the host. Start-up is the median
of N interleaved runs of `--version` after 2 warm-ups. Then a one-line change to
examples/hello is rebuilt in each format with the cache of the first build; "pushed" is
what a push of the new image sends to a registry that has the old one: the blobs the old
image lacks, plus the config, manifest and index (the layered test in
tests/layered/test_format.py checks that the registry receives exactly that).

    sudo .venv/bin/python benchmarks/formats.py [--runs 20]

Needs root (chroot), umoci and PyPI. Prints Markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, code_note, code_state, log
from benchmarks.layered import timed
from hatch_krust.python import create_environment

PYTHON = sys.executable
FORMATS = ("static", "layered")
WRAPPER = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "1.0.0"
dependencies = ["{requirement}"]

[project.scripts]
{script} = "{entry}"

[tool.hatch.build.targets.wheel]
bypass-selection = true
"""
# (label, project dir or (requirement, script, entry point), script, argument)
PROGRAMS = (
    ("examples/hello (click)", None, "hello", "--version"),
    ("pygmentize (Pygments 2.18.0)", ("pygments==2.18.0", "pygments.cmdline:main"),
     "pygmentize", "-V"),
    ("black 24.8.0", ("black==24.8.0", "black:patched_main"), "black", "--version"),
)  # fmt: skip
HOST_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
CHROOT_ENV = {"PATH": "/app/bin:/app:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"}


def project_for(spec: tuple[str, str] | None, script: str, tmp: Path) -> Path:
    if spec is None:
        target = tmp / "hello"
        shutil.copytree(REPO / "examples" / "hello", target)
        return target
    target = tmp / script
    target.mkdir()
    requirement, entry = spec
    text = WRAPPER.format(name=f"{script}-app", requirement=requirement, script=script,
                          entry=entry)  # fmt: skip
    (target / "pyproject.toml").write_text(text)
    return target


def build(project: Path, fmt: str, cache: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRUST_", "HATCH_"))}
    env.update(KRUST_FORMAT=fmt, KRUST_BASE_IMAGE="scratch", KRUST_CACHE_DIR=str(cache),
               SOURCE_DATE_EPOCH="1700000000")  # fmt: skip
    shutil.rmtree(project / "dist", ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "hatchling", "build", "-t", "krust"], cwd=project,
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return seconds


def layout_of(project: Path, into: Path) -> Path:
    archive = next((project / "dist" / "krust").glob("*.oci.tar"))
    shutil.rmtree(into, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def image_facts(layout: Path) -> dict:
    """Blobs (digest -> size) of the image and its compressed / uncompressed layer bytes."""
    entry = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest = _blob(layout, entry["digest"])
    index_digest = entry["annotations"]["dev.hatch-krust.image.index"]
    index_d = {"digest": index_digest, "size": _size(layout, index_digest)}
    manifest_d = entry
    layers = {layer["digest"]: layer["size"] for layer in manifest["layers"]}
    uncompressed = sum(_gunzipped(layout, d) for d in layers)
    small = {manifest["config"]["digest"]: manifest["config"]["size"],
             manifest_d["digest"]: manifest_d["size"], index_d["digest"]: index_d["size"]}
    return {"layers": layers, "small": small, "compressed": sum(layers.values()),
            "uncompressed": uncompressed, "tag": entry["annotations"][_REF_NAME]}  # fmt: skip


_REF_NAME = "org.opencontainers.image.ref.name"


def _size(layout: Path, digest: str) -> int:
    return (layout / "blobs" / "sha256" / digest.split(":")[1]).stat().st_size


def _blob(layout: Path, digest: str) -> dict:
    return json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_text())


def _gunzipped(layout: Path, digest: str) -> int:
    total = 0
    with gzip.open(layout / "blobs" / "sha256" / digest.split(":")[1], "rb") as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    return total


def unpack(layout: Path, tag: str, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", str(into)],
                   check=True, capture_output=True)  # fmt: skip
    return into / "rootfs"


def entrypoint(rootfs_bundle: Path) -> list[str]:
    """Entrypoint + Cmd as umoci wrote them (the images here have no Cmd)."""
    config = json.loads((rootfs_bundle.parent / "config.json").read_text())
    return list(config["process"]["args"])


@contextlib.contextmanager
def mounted(roots: list[Path]) -> Iterator[None]:
    """/proc and /dev in each root file system, as a container runtime gives them
    (staticx reads /proc/self/exe)."""
    done: list[Path] = []
    try:
        for root in roots:
            for name, how in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
                (root / name).mkdir(exist_ok=True)
                subprocess.run(["mount", *how, str(root / name)], check=True)
                done.append(root / name)
        yield
    finally:
        for path in reversed(done):
            subprocess.run(["umount", str(path)], check=False)


def venv_for(project: Path, tmp: Path) -> Path:
    wheel_dir = tmp / "wheel"
    subprocess.run([PYTHON, "-m", "hatchling", "build", "-t", "wheel", "-d", str(wheel_dir)],
                   cwd=project, check=True, capture_output=True)  # fmt: skip
    venv = tmp / "venv"
    create_environment(PYTHON, venv, [str(next(wheel_dir.glob("*.whl")))], env=HOST_ENV)
    subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(venv / "lib")],
                   check=False, capture_output=True)  # fmt: skip
    return venv


def measure(label: str, spec: tuple[str, str] | None, script: str, arg: str, tmp: Path,
            runs: int) -> dict:  # fmt: skip
    work = tmp / script
    work.mkdir()
    project = project_for(spec, script, work)
    out: dict = {"label": label}
    commands = [([str(venv_for(project, work / "v") / "bin" / script), arg], HOST_ENV)]
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    for fmt in FORMATS:
        log(f"{label}: cold {fmt} build")
        cold = build(project, fmt, work / f"cache-{fmt}")
        layout = layout_of(project, work / f"layout-{fmt}")
        facts = image_facts(layout)
        rootfs = unpack(layout, facts["tag"], work / f"bundle-{fmt}")
        args = entrypoint(rootfs)
        commands.append(([chroot, str(rootfs), *args, arg], CHROOT_ENV))
        out[fmt] = {
            "cold": cold,
            "compressed": facts["compressed"],
            "uncompressed": facts["uncompressed"],
            "layers": len(facts["layers"]),
        }
    log(f"{label}: start-up, {runs} runs each")
    roots = [Path(cmd[1]) for cmd, _ in commands[1:]]
    with mounted(roots):
        venv_s, static_s, layered_s = timed(commands, runs)
    out.update(venv=venv_s, static_start=static_s, layered_start=layered_s)
    return out


def one_line_change(tmp: Path) -> dict:
    """examples/hello edited by one line, rebuilt in each format with the first cache."""
    out = {}
    work = tmp / "hello"
    for fmt in FORMATS:
        project = work / "hello"
        before = image_facts(work / f"layout-{fmt}")  # the cold build's, from `measure`
        cli = project / "src" / "hello" / "__init__.py"
        original = cli.read_text()
        cli.write_text(original + f'\nEDITED = "{fmt}"\n')
        log(f"hello: rebuild after a one-line change, {fmt}")
        seconds = build(project, fmt, work / f"cache-{fmt}")
        after = image_facts(layout_of(project, tmp / f"after-{fmt}"))
        new = {d: s for d, s in after["layers"].items() if d not in before["layers"]}
        pushed = sum(new.values()) + sum(after["small"].values())
        out[fmt] = {"seconds": seconds, "pushed": pushed, "new_layers": len(new),
                    "image": after["compressed"]}  # fmt: skip
        cli.write_text(original)
    return out


def report(rows: list[dict], change: dict, runs: int) -> None:
    print(f"\n### Start-up of `--version`, median of {runs} runs (s)\n")
    print("| program | venv | static | layered |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        v = r["venv"]
        print(f"| {r['label']} | {v:.3f} | {r['static_start']:.3f} ({r['static_start'] / v:.2f}x)"
              f" | {r['layered_start']:.3f} ({r['layered_start'] / v:.2f}x) |")  # fmt: skip
    print("\n### Cold build and image size (on `scratch`, MB compressed / uncompressed)\n")
    print("| program | static build | layered build | static image | layered image |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        s, la = r["static"], r["layered"]
        print(f"| {r['label']} | {s['cold']:.1f} s | {la['cold']:.1f} s | "
              f"{s['compressed'] / 1e6:.1f} / {s['uncompressed'] / 1e6:.1f} | "
              f"{la['compressed'] / 1e6:.1f} / {la['uncompressed'] / 1e6:.1f} |")  # fmt: skip
    print("\n### examples/hello after a one-line change (with the first build's cache)\n")
    print("| format | rebuild | new layers | pushed bytes | of the image |")
    print("| --- | --- | --- | --- | --- |")
    for fmt in FORMATS:
        c = change[fmt]
        print(f"| {fmt} | {c['seconds']:.2f} s | {c['new_layers']} | {c['pushed']:,} | "
              f"{100 * c['pushed'] / c['image']:.2f} % |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    before = code_state()
    print(f"Load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="krust-formats-bench-") as tmp:
        rows = [measure(*program, Path(tmp), args.runs) for program in PROGRAMS]
        change = one_line_change(Path(tmp))
    report(rows, change, args.runs)
    print(f"\nLoad average at end: {os.getloadavg()[0]:.2f}")
    print(code_note(before, code_state()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
