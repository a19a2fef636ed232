"""Push benchmark: `hatch-krust push` against `skopeo copy`, side by side, interleaved.

Images (random, incompressible bytes, in OCI layouts): 9 MB with one layer, 200 MB with
one layer and 400 MB with four layers. Each is pushed cold to a fresh repository of a
loopback `docker-registry`, again with nothing new, then to a second repository of the
same registry (where both tools mount the blobs they recorded: skopeo from its
blob-info cache, hatch-krust from its blob record in a fresh `KRUST_CACHE_DIR`). Wall
time is for the whole process (interpreter start-up included); peak memory is the
process's max RSS. Runs of the two tools alternate (which goes first flips each round),
so a loaded machine slows both alike; the ratios of each round are printed.

    .venv/bin/python benchmarks/registry_push.py [--repeat N] [--images NAME,...] [--tree DIR]

`--tree DIR` runs `hatch-krust` from another checkout's source (say an older commit's
`git archive`), to compare two versions on the same machine, interleaved by the caller.

Goals (issues 3 and 21): 400 MB ≤ 1.2x skopeo; 200 MB < 0.8x skopeo; no-op push < 0.5 s;
9 MB ≤ 3x skopeo; a second push to another repository ≤ 0.2x the first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatch_krust.oci.descriptor import Platform  # noqa: E402
from hatch_krust.oci.layout import Layout  # noqa: E402
from tests.infra.registry import random_image, start_registry  # noqa: E402

IMAGES: dict[str, tuple[int, int]] = {
    "9MB-1layer": (1, 9_000_000),
    "200MB-1layer": (1, 200_000_000),
    "400MB-4layers": (4, 100_000_000),
}


TREE = ROOT  # where the `hatch_krust` that `python -m hatch_krust` runs comes from


def timed(argv: list[str], scratch: Path, env: dict[str, str] | None = None
          ) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, CPU seconds) of one process, by /usr/bin/time when present.

    CPU time (user + system, all threads) hardly moves with the machine's load; wall time
    does.

    (`wait4` is not used: on Linux a child's max RSS starts from its parent's at fork.)
    """
    report = scratch / "time.txt"
    has_time = Path("/usr/bin/time").exists()
    wrapper = ["/usr/bin/time", "-o", str(report), "-f", "%M %U %S"] if has_time else []
    started = time.perf_counter()
    done = subprocess.run([*wrapper, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False, env=env, cwd=TREE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {done.stderr.decode()[-2000:]}")
    if not wrapper:
        return elapsed, float("nan"), float("nan")
    peak, user, system = (float(v) for v in report.read_text().split()[-3:])
    return elapsed, peak / 1024, user + system


def commands(tool: str, layout: Path, dest: str) -> list[str]:
    if tool == "hatch-krust":
        return [sys.executable, "-m", "hatch_krust", "push", "-q", f"oci:{layout}:v1", dest]
    return ["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:v1",
            f"docker://{dest}"]


Row = tuple[str, int, str, float, float, float, float, float, float]  # image, round, tool,
# cold, no-op, second push (seconds), peak MB, CPU seconds of the cold and the second push


def one_tool(tool: str, name: str, attempt: int, base: Path, host: str) -> Row:
    layers, size = IMAGES[name]
    # fresh content each round: what a tool recorded in an earlier round is not reused
    layout = Layout.create(base / f"{name}-{tool}-{attempt}")
    random_image(layout, layers=layers, size=size, tag="v1", platform=Platform("linux", "amd64"))
    env = {**os.environ, "KRUST_CACHE_DIR": str(base / "krust-cache"),
           # bytecode cached (outside the tree) as for an installed package after its first
           # run: with PYTHONDONTWRITEBYTECODE every run would compile hatch_krust again
           "PYTHONPYCACHEPREFIX": str(base / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    repo = f"{host}/bench/{tool}-{name.lower()}-{attempt}"
    cold, cold_mb, cpu = timed(commands(tool, layout.root, f"{repo}:v1"), base, env)
    noop, noop_mb, _ = timed(commands(tool, layout.root, f"{repo}:v1"), base, env)
    second, second_mb, second_cpu = timed(commands(tool, layout.root, f"{repo}-again:v1"),
                                          base, env)
    shutil.rmtree(layout.root)
    return (name, attempt, tool, cold, noop, second, max(cold_mb, noop_mb, second_mb), cpu,
            second_cpu)


def in_process(name: str, attempt: int, base: Path, host: str) -> tuple[float, float]:
    """(first push, push to a second repository) in seconds, inside this process: what a
    build pays, its interpreter and imports already loaded."""
    from hatch_krust.registry import Options, push_layout

    layers, size = IMAGES[name]
    layout = Layout.create(base / f"{name}-inproc-{attempt}")
    image = random_image(layout, layers=layers, size=size, tag="v1",
                         platform=Platform("linux", "amd64"))
    options = Options(blob_record=base / "inproc-cache" / "blob-locations.json")
    repo = f"{host}/bench/inproc-{name.lower()}-{attempt}"
    started = time.perf_counter()
    push_layout(layout, image, f"{repo}:v1", options=options)
    first = time.perf_counter() - started
    started = time.perf_counter()
    push_layout(layout, image, f"{repo}-again:v1", options=options)
    second = time.perf_counter() - started
    shutil.rmtree(layout.root)
    return first, second


def run(repeat: int, images: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="krust-bench-") as tmp:
        base = Path(tmp)
        with start_registry(base / "registry") as registry:
            warm = {**os.environ, "PYTHONPYCACHEPREFIX": str(base / "pycache")}
            warm.pop("PYTHONDONTWRITEBYTECODE", None)
            subprocess.run([sys.executable, "-m", "hatch_krust", "--version"], env=warm,
                           stdout=subprocess.DEVNULL, check=True, cwd=TREE)
            rows = []
            inside: dict[str, list[tuple[float, float]]] = {}
            for name in images:
                for attempt in range(repeat):
                    tools = ("skopeo", "hatch-krust") if attempt % 2 == 0 else (
                        "hatch-krust", "skopeo")
                    for tool in tools:
                        rows.append(one_tool(tool, name, attempt, base, registry.host))
                        print(*rows[-1], sep="\t", file=sys.stderr)
                    inside.setdefault(name, []).append(
                        in_process(name, attempt, base, registry.host))
    report(rows, images)
    for name, pairs in inside.items():
        print(f"{name}, in-process push_layout: first {statistics.median(p[0] for p in pairs):.3f}"
              f" s, second repository {statistics.median(p[1] for p in pairs):.3f} s "
              f"({', '.join(f'{p[1] / p[0]:.2f}x' for p in pairs)} of the first)")


def report(rows: list[Row], images: list[str]) -> None:
    print(f"{'image':<15} {'round':>5} {'tool':<12} {'cold s':>8} {'no-op s':>8} "
          f"{'2nd repo s':>10} {'peak MB':>8} {'cold cpu s':>10} {'2nd cpu s':>9}")
    by: dict[tuple[str, int, str], Row] = {}
    for row in rows:
        name, attempt, tool, cold, noop, second, peak, cpu, second_cpu = row
        by[(name, attempt, tool)] = row
        print(f"{name:<15} {attempt:>5} {tool:<12} {cold:8.3f} {noop:8.3f} {second:10.3f} "
              f"{peak:8.1f} {cpu:10.2f} {second_cpu:9.2f}")
    print()
    for name in images:
        rounds = sorted({a for (n, a, _t) in by if n == name})
        cold = [by[(name, a, "hatch-krust")][3] / by[(name, a, "skopeo")][3] for a in rounds]
        second = [by[(name, a, "hatch-krust")][5] / by[(name, a, "hatch-krust")][3]
                  for a in rounds]
        noop = [by[(name, a, "hatch-krust")][4] for a in rounds]
        second_cpu = [by[(name, a, "hatch-krust")][8] for a in rounds]
        print(f"{name}: cold {statistics.median(cold):.2f}x skopeo (median; rounds "
              f"{', '.join(f'{r:.2f}' for r in cold)}), no-op {statistics.median(noop):.3f} s, "
              f"second repository {statistics.median(second):.2f}x our first push "
              f"({', '.join(f'{r:.2f}' for r in second)}), its CPU "
              f"{', '.join(f'{c:.2f}' for c in second_cpu)} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds (interleaved) per image")
    parser.add_argument("--images", default=",".join(IMAGES), help="which images, by name")
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="run hatch-krust from this source tree (default: this checkout)")
    arguments = parser.parse_args()
    TREE = arguments.tree.resolve()
    run(arguments.repeat, arguments.images.split(","))
