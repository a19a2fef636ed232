"""One command per thing the layered-format tests check."""

from __future__ import annotations

import getpass
import importlib.metadata
import importlib.resources
import json
import os
import signal
import subprocess
import sys
import time


def report() -> int:
    """Version, package data, the C YAML loader, and where things are."""
    import yaml

    import krust_layered

    loaded = yaml.load("answer: 42\n", Loader=yaml.CLoader)
    data = importlib.resources.files("krust_layered").joinpath("data/greeting.txt")
    print(
        json.dumps(
            {
                "version": importlib.metadata.version("krust-layered-demo"),
                "data": data.read_text().strip(),
                "yaml": loaded,
                "cloader": yaml.__with_libyaml__,
                "executable": sys.executable,
                "prefix": sys.prefix,
                "base_prefix": sys.base_prefix,
                "pid": os.getpid(),
                "argv0": sys.argv[0],
                "path0": sys.path[0],
                "change": krust_layered.CHANGE,
                "uid": os.getuid(),
                "user": getpass.getuser(),
                "lang": os.environ.get("LANG", ""),
                "path": os.environ.get("PATH", ""),
                "cwd": os.getcwd(),
            },
            sort_keys=True,
        )
    )
    return 0


def make_venv(where: str) -> int:
    """Create a venv with the image's Python and run something in it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", where], check=True)
    out = subprocess.run(
        [f"{where}/bin/python", "-c", "import sys; print(sys.prefix, sys.base_prefix)"],
        check=True,
        capture_output=True,
        text=True,
    )
    print(out.stdout.strip())
    return 0


def wait(handler: bool) -> int:
    """Print ready and sleep; with a handler, SIGTERM ends the program with status 7."""
    if handler:

        def stop(signum: int, frame: object) -> None:
            os.write(1, b"handled %d\n" % signum)  # not print: it may be flushing "ready"
            sys.exit(7)

        signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while True:
        time.sleep(0.05)


def zombies() -> list[int]:
    """The processes of this PID namespace that have ended and that no one has waited for."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    found.append(int(entry))
        except OSError:
            pass
    return found


def orphan() -> int:
    """Leave an orphan that ends after its parent; report the zombies a second later."""
    middle = os.fork()
    if middle == 0:
        if os.fork() == 0:
            time.sleep(0.2)
            os._exit(0)
        os._exit(0)
    os.waitpid(middle, 0)
    time.sleep(1.5)
    print(json.dumps({"pid": os.getpid(), "zombies": zombies()}))
    return 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "report"
    if command == "--version":
        print(importlib.metadata.version("krust-layered-demo"))
        return 0
    if command == "venv":
        return make_venv(sys.argv[2])
    if command == "orphan":
        return orphan()
    if command in ("wait", "wait-handler"):
        return wait(command == "wait-handler")
    return report()
