"""Layered images on a Python base for two platforms from one machine (issue 18).

On the two-platform Debian Python 3.11 base of tests/infra/pythonbases.py (an OCI layout),
the layered demo project plus cryptography (tests/layered/test_platforms.py's project):

  one platform     `hatchling build -t krust`, KRUST_PLATFORMS=linux/amd64, our cache cold
  two platforms    the same with linux/amd64,linux/arm64
  emulated route   what `docker buildx --platform linux/arm64` does for the same packages:
                   pip, run by the base's arm64 interpreter under qemu-user, installs them
  one-line change  a second two-platform build after a one-line change, pushed to a local
                   registry: the bytes of the blobs the registry did not have

The cold builds alternate (one, two, one, two...) and report wall medians, the CPU time
of the build process and its children (the machine may be shared), and the load average.
uv's download cache is warm in every round (the first round fills it), and the emulated
route installs from wheels downloaded beforehand: the figures compare resolving and
installing, not downloading. Needs root
(chroot), qemu-user-static, docker-registry, skopeo and PyPI.

    sudo .venv/bin/python benchmarks/platforms.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import code_note, code_state, log, med
from tests.e2e.conftest import build_env, hatchling_build
from tests.infra.pythonbases import BASE_TAG, debian_python_root, python_base_layout, run_foreign
from tests.infra.registry import start_registry
from tests.layered.test_platforms import CACHE, make_project

PACKAGES = ("pyyaml==6.0.2", "cryptography==44.0.0")


def cold_build(base: str, platforms: str, work: Path, **env: str) -> tuple[float, float, Path]:
    """(wall seconds, CPU seconds of the build and its children, the project)."""
    project = make_project(work)
    settings = {"KRUST_FORMAT": "layered", "KRUST_SCRIPT": "krust-check",
                "KRUST_BASE_IMAGE": base, "KRUST_PLATFORMS": platforms, **env}  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = hatchling_build(project, "krust", build_env(work / "cache", **settings))
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return took, cpu, project


def emulated(work: Path) -> float:
    """pip under qemu-user, in a copy of the arm64 Debian Python root, installing the
    arm64 wheels (downloaded here first: the chroot has no network set-up)."""
    root = work / "arm64-root"
    shutil.copytree(debian_python_root("arm64", CACHE), root, symlinks=True)
    wheels = root / "tmp/wheels"
    download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels)]
    subprocess.run([*download, "--no-deps", "pip==24.3.1"], check=True)
    tags = [f"--platform=manylinux{t}_aarch64" for t in ("2014", "_2_17", "_2_28", "_2_34")]
    subprocess.run([*download, "--only-binary", ":all:", *tags, "--python-version", "3.11",
                    "--implementation", "cp", *PACKAGES], check=True)  # fmt: skip
    pip = next(wheels.glob("pip-*.whl")).name
    argv = ["/usr/bin/python3.11", f"/tmp/wheels/{pip}/pip", "install", "-q", "--no-index",
            "--find-links", "/tmp/wheels", "--target", "/tmp/site", *PACKAGES]  # fmt: skip
    start = time.perf_counter()
    done = run_foreign(root, argv, timeout=1800)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return took


def pushed_bytes(registry_host: str, before: set[str]) -> tuple[int, int]:
    """(bytes of blobs new since `before`, bytes of every blob) of the pushed index."""
    name = f"docker://{registry_host}/team/krust-layered-demo"
    index = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"{name}:1.0.0"))
    new = total = 0
    for entry in index["manifests"]:
        raw = _skopeo("inspect", "--raw", "--tls-verify=false", f"{name}@{entry['digest']}")
        manifest = json.loads(raw)
        for blob in [manifest["config"], *manifest["layers"]]:
            total += blob["size"]
            if blob["digest"] not in before:
                new += blob["size"]
                before.add(blob["digest"])
        if entry["digest"] not in before:
            new += entry["size"]
            before.add(entry["digest"])
    return new, total


def _skopeo(*args: str) -> str:
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, check=True).stdout


def change_and_push(work: Path) -> tuple[int, int, int]:
    """(first push bytes, bytes pushed after a one-line change, image bytes)."""
    layout = python_base_layout(CACHE)
    base = f"oci:{layout}:{BASE_TAG}"
    with start_registry(work / "registry", "anonymous") as registry:
        env = {"KRUST_REPO": f"{registry.host}/team"}
        _took, _cpu, project = cold_build(base, "linux/amd64,linux/arm64", work / "p", **env)
        seen: set[str] = set()
        first, _total = pushed_bytes(registry.host, seen)
        init = project / "src/krust_layered/__init__.py"
        init.write_text(init.read_text().replace('"original"', '"changed"'))
        settings = {"KRUST_FORMAT": "layered", "KRUST_SCRIPT": "krust-check",
                    "KRUST_BASE_IMAGE": base, "KRUST_PLATFORMS": "linux/amd64,linux/arm64",
                    **env}  # fmt: skip
        done = hatchling_build(project, "krust", build_env(work / "p" / "cache", **settings))
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        second, total = pushed_bytes(registry.host, seen)
    return first, second, total


def _r(values: list[float]) -> list[float]:
    return [round(v, 2) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    before = code_state()
    CACHE.mkdir(parents=True, exist_ok=True)
    base = f"oci:{python_base_layout(CACHE)}:{BASE_TAG}"
    with tempfile.TemporaryDirectory(prefix="krust-bench-platforms-") as tmp:
        work = Path(tmp)
        cold_build(base, "linux/amd64,linux/arm64", work / "warm-uv")  # fills uv's cache
        one, two, one_cpu, two_cpu, loads = [], [], [], [], []
        for n in range(args.runs):
            took, cpu, _project = cold_build(base, "linux/amd64", work / f"one-{n}")
            one.append(took)
            one_cpu.append(cpu)
            took, cpu, _project = cold_build(base, "linux/amd64,linux/arm64", work / f"two-{n}")
            two.append(took)
            two_cpu.append(cpu)
            loads.append(os.getloadavg()[0])
        emulation = emulated(work / "emulated")
        first, changed, total = change_and_push(work / "push")
    log(f"cold build, one platform (linux/amd64): {med(one):.2f} s  (runs {_r(one)})")
    log(f"cold build, two platforms:              {med(two):.2f} s  ({med(two) / med(one):.2f}x)"
        f"  (runs {_r(two)})")  # fmt: skip
    log(f"CPU (build and children): one {med(one_cpu):.2f} s, two {med(two_cpu):.2f} s "
        f"({med(two_cpu) / med(one_cpu):.2f}x); load average (1 min) {_r(loads)}")  # fmt: skip
    log(f"emulated route, pip under qemu-user installing {', '.join(PACKAGES)} for arm64: "
        f"{emulation:.2f} s (the packages only, no image)")  # fmt: skip
    log(f"first push of the two-platform image: {first / 1e6:.2f} MB of {total / 1e6:.2f} MB")
    log(f"pushed after a one-line change: {changed / 1e3:.1f} kB ({100 * changed / total:.3f} %)")
    log(code_note(before, code_state()))


if __name__ == "__main__":
    main()
