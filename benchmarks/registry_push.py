"""Push benchmark: `hatch-krust push` against `skopeo copy`, side by side, one run.

Images (random, incompressible bytes, in OCI layouts): 9 MB with one layer and 400 MB
with four layers. Each is pushed cold to a fresh repository of a loopback
`docker-registry`, then again with nothing new. Wall time is for the whole process
(interpreter start-up included); peak memory is the process's max RSS (wait4).

    .venv/bin/python benchmarks/registry_push.py [--repeat N]

Goals (issue 3): 400 MB ≤ 1.2x skopeo; no-op push < 0.5 s; 9 MB ≤ 3x skopeo.
"""

from __future__ import annotations

import argparse
import shutil
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
    "400MB-4layers": (4, 100_000_000),
}


def timed(argv: list[str], scratch: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one process, measured by /usr/bin/time when present.

    (`wait4` is not used: on Linux a child's max RSS starts from its parent's at fork.)
    """
    report = scratch / "time.txt"
    has_time = Path("/usr/bin/time").exists()
    wrapper = ["/usr/bin/time", "-o", str(report), "-f", "%M"] if has_time else []
    started = time.perf_counter()
    done = subprocess.run([*wrapper, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {done.stderr.decode()[-2000:]}")
    peak = float(report.read_text().split()[-1]) / 1024 if wrapper else float("nan")
    return elapsed, peak


def commands(tool: str, layout: Path, dest: str) -> list[str]:
    if tool == "hatch-krust":
        return [sys.executable, "-m", "hatch_krust", "push", "-q", f"oci:{layout}:v1", dest]
    return ["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:v1",
            f"docker://{dest}"]


def run(repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="krust-bench-") as tmp:
        base = Path(tmp)
        with start_registry(base / "registry") as registry:
            rows = []
            for name, (layers, size) in IMAGES.items():
                for tool in ("skopeo", "hatch-krust"):
                    for attempt in range(repeat):
                        # fresh content each time: skopeo's blob-info cache would mount
                        # blobs it has seen in another repository
                        layout = Layout.create(base / f"{name}-{tool}-{attempt}")
                        random_image(layout, layers=layers, size=size, tag="v1",
                                     platform=Platform("linux", "amd64"))
                        dest = f"{registry.host}/bench/{tool}-{name.lower()}-{attempt}:v1"
                        cold, cold_mb = timed(commands(tool, layout.root, dest), base)
                        noop, noop_mb = timed(commands(tool, layout.root, dest), base)
                        rows.append((name, tool, cold, noop, max(cold_mb, noop_mb)))
                        shutil.rmtree(layout.root)
    report(rows)


def report(rows: list[tuple[str, str, float, float, float]]) -> None:
    print(f"{'image':<15} {'tool':<12} {'cold s':>8} {'no-op s':>8} {'peak MB':>8}")
    best: dict[tuple[str, str], tuple[float, float, float]] = {}
    for name, tool, cold, noop, peak in rows:
        print(f"{name:<15} {tool:<12} {cold:8.3f} {noop:8.3f} {peak:8.1f}")
        old = best.get((name, tool))
        best[(name, tool)] = (min(cold, old[0]) if old else cold,
                              min(noop, old[1]) if old else noop,
                              max(peak, old[2]) if old else peak)
    print()
    for name in IMAGES:
        ours, theirs = best[(name, "hatch-krust")], best[(name, "skopeo")]
        print(f"{name}: cold {ours[0] / theirs[0]:.2f}x skopeo, no-op {ours[1]:.3f} s "
              f"({ours[1] / theirs[1]:.2f}x skopeo), peak {ours[2]:.0f} MB vs {theirs[2]:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool (best is compared)")
    run(parser.parse_args().repeat)
