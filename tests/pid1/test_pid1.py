"""hatch_krust/pid1.py without root: its init run in a process that is not PID 1 (the
parent of the program all the same), on a pseudo-terminal, and on every Python it must
run on. As PID 1 under runc, in both formats: tests/pid1/test_pid1_containers.py."""

from __future__ import annotations

import ast
import glob
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_krust import pid1
from hatch_krust.freeze.launcher import PID1_IMPORTS, launcher_source, pid1_source

SOURCE = Path(pid1.__file__)
STDLIB_USED = {"__future__", "ctypes", "os", "signal", "sys", "types"}

# Load the file as the static launcher does (a module of its own, not hatch_krust.pid1),
# run `BEFORE`, start the init, then run `PROGRAM` in the child.
DRIVER = """\
import importlib.util, json, os, signal, subprocess, sys, time
spec = importlib.util.spec_from_file_location("krust_pid1", sys.argv[1])
pid1 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pid1)
{before}
pid1.start_init()
{program}
"""

READY = 'print("ready", os.getpid(), os.getpgrp(), flush=True)\n'
WAIT = "while True:\n    time.sleep(0.05)\n"
HANDLER = (  # os.write: the signal may come while `print` still flushes "ready"
    "def stop(signum, frame):\n"
    '    os.write(1, b"handled %d\\n" % signum)\n'
    "    sys.exit(7)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def start(program: str, before: str = "") -> subprocess.Popen[str]:
    code = DRIVER.format(before=before, program=program)
    return subprocess.Popen(
        [sys.executable, "-c", code, str(SOURCE)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(),
    )  # fmt: skip


def ready(process: subprocess.Popen[str]) -> tuple[int, int]:
    """The program's pid and process group, once it has printed them."""
    assert process.stdout is not None
    line = process.stdout.readline().split()
    assert line[:1] == ["ready"], (line, process.stderr.read() if process.stderr else "")
    return int(line[1]), int(line[2])


def stopped(process: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    return process.returncode, out + err


def gone(pid: int, seconds: float = 5.0) -> bool:
    """True when `pid` has ended (reaped, or a zombie its parent has not waited for yet)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == b"Z":
            return True
        time.sleep(0.05)
    return False


def test_an_unhandled_sigterm_ends_the_init_with_143() -> None:
    process = start(READY + WAIT)
    child, group = ready(process)
    assert child != process.pid, "the program runs in the init's child"
    assert group == child, "in a process group of its own"
    assert stopped(process, signal.SIGTERM)[0] == 143


def test_a_handler_keeps_its_own_status() -> None:
    process = start(HANDLER + READY + WAIT)
    ready(process)
    status, output = stopped(process, signal.SIGTERM)
    assert (status, output.strip()) == (7, "handled 15")


def test_sigint_is_a_keyboard_interrupt_and_130() -> None:
    process = start(READY + WAIT)
    ready(process)
    status, output = stopped(process, signal.SIGINT)
    assert status == 130
    assert "KeyboardInterrupt" in output


def test_the_programs_exit_status_is_the_inits() -> None:
    process = start("sys.exit(5)\n")
    assert process.wait(timeout=30) == 5


def test_signals_reach_the_programs_whole_process_group() -> None:
    program = (
        'worker = subprocess.Popen(["sleep", "30"])\n'
        'print("ready", worker.pid, os.getpgid(worker.pid), flush=True)\n' + WAIT
    )
    process = start(program)
    worker, group = ready(process)
    assert group != os.getpgrp()
    assert stopped(process, signal.SIGTERM)[0] == 143
    assert gone(worker), "the program's own child got the forwarded SIGTERM too"


def test_the_init_reaps_children_that_are_not_the_program() -> None:
    """A child the init did not start the program as (an orphan, for PID 1) ends: the init
    reaps it while it waits, instead of leaving a zombie until the program ends."""
    before = "other = os.fork()\nif other == 0:\n    os._exit(0)\n"
    program = (
        "time.sleep(0.5)\n"
        "try:\n"
        '    state = open("/proc/%d/stat" % other).read().rsplit(")", 1)[1].split()[0]\n'
        "except FileNotFoundError:\n"
        '    state = "reaped"\n'
        "print(state)\n"
    )
    process = start(program, before)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out.strip()) == (0, "reaped"), err


def _on_a_terminal(program: str) -> tuple[int, str]:
    """Run the driver as a session leader on a new pseudo-terminal (its controlling one)."""
    code = DRIVER.format(before="", program=program)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        os.execve(sys.executable, [sys.executable, "-c", code, str(SOURCE)], _env())
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every process holding the terminal has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return pid1.exit_status(status), b"".join(chunks).decode()


def test_on_a_terminal_the_program_is_the_foreground_group() -> None:
    status, output = _on_a_terminal(
        "print('foreground', os.tcgetpgrp(0) == os.getpgrp() == os.getpid())\n"
    )
    assert (status, output.strip()) == (0, "foreground True"), output


def test_a_terminal_that_refuses_tcsetpgrp_does_not_stop_the_program() -> None:
    """A terminal that is not the process's controlling one: `tcsetpgrp` fails (ENOTTY),
    the program runs all the same."""
    leader, follower = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", DRIVER.format(before="", program="print('ran')"), str(SOURCE)],
            stdin=follower, capture_output=True, text=True, env=_env(), timeout=30, check=False,
        )  # fmt: skip
    finally:
        os.close(leader)
        os.close(follower)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ran\n", "")


def test_exit_status_is_the_code_or_128_plus_the_signal() -> None:
    for code, expected in (("sys.exit(3)", 3), ("os.kill(os.getpid(), 15)", 143)):
        child = subprocess.Popen([sys.executable, "-c", f"import os, sys; {code}"])
        _, status = os.waitpid(child.pid, 0)
        child.returncode = 0  # waited for here, not by Popen
        assert pid1.exit_status(status) == expected


def _ppid_from_status(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^PPid:\s+(\d+)$", text, re.MULTILINE)
    assert found is not None
    return int(found.group(1))


def test_is_pid1_counts_generations_up_to_the_first_process() -> None:
    depth, pid = 0, os.getpid()
    while pid != 1:
        pid, depth = _ppid_from_status(pid), depth + 1
    assert pid1.is_pid1(depth)
    assert not pid1.is_pid1(depth - 1)
    assert not pid1.is_pid1(depth + 1)


def test_parent_of_reads_a_process_name_with_spaces_and_parentheses(tmp_path: Path) -> None:
    named = tmp_path / "a) b (c"  # the process's name in /proc/PID/stat is its file's
    shutil.copy2(shutil.which("sleep") or "/bin/sleep", named)
    child = subprocess.Popen([str(named), "30"])
    try:
        assert b"(a) b (c)" in Path(f"/proc/{child.pid}/stat").read_bytes()
        assert pid1.parent_of(child.pid) == os.getpid()
    finally:
        child.kill()
        child.wait()
    assert pid1.parent_of(child.pid) is None, "an ended process has no parent to read"


def test_the_script_runs_as_main_when_not_pid_1(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "tool"
    script.parent.mkdir()
    script.write_text(
        "import sys\nprint(__name__, sys.argv, sys.path[0] == sys.argv[0].rsplit('/', 1)[0])\n"
        "def f(x: int): pass\nprint(f.__annotations__)\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    result = subprocess.run(
        [sys.executable, str(SOURCE), str(script), "5"],
        capture_output=True, text=True, check=False, env=_env(),
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"__main__ ['{script}', '5'] True"
    assert lines[1] == "{'x': <class 'int'>}", "no `from __future__` flags leak in"


def test_without_a_script_it_says_how_to_call_it() -> None:
    done = subprocess.run(
        [sys.executable, str(SOURCE)], capture_output=True, text=True, check=False, env=_env()
    )
    assert (done.returncode, done.stderr) == (2, "usage: pid1.py SCRIPT [ARGS...]\n")


def test_the_syntax_is_python_3_8s() -> None:
    ast.parse(SOURCE.read_text(), feature_version=(3, 8))
    with pytest.raises(SyntaxError):  # the check does catch newer syntax
        ast.parse("match x:\n    case 1:\n        pass\n", feature_version=(3, 8))


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_it_imports_only_the_standard_library_it_names() -> None:
    assert _imports(SOURCE.read_text()) == STDLIB_USED


def _pythons() -> list[str]:
    """sys.executable and every pyenv Python from 3.8 on that this machine has."""
    found = glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))
    old = [p for p in found if int(p.split("/versions/3.")[1].split(".")[0]) >= 8]
    return [sys.executable, *sorted(old)]


@pytest.mark.parametrize("python", _pythons())
def test_it_runs_on_every_python_the_images_may_carry(python: str, tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("import sys\nprint(sys.version_info[:2])\nsys.exit(4)\n")
    done = subprocess.run(
        [python, str(SOURCE), str(script)], capture_output=True, text=True, check=False,
        env=_env(),
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert done.stderr == ""


def test_the_static_launcher_embeds_the_same_source() -> None:
    text = SOURCE.read_text()
    assert pid1_source() == text
    assert repr(text) in launcher_source("pkg.cli:main")


def test_the_freezer_bundles_what_the_embedded_source_imports() -> None:
    """PyInstaller's analysis does not read the embedded text: its imports are hidden ones
    (on the command line: tests/freeze/test_pyinstaller.py)."""
    assert STDLIB_USED - {"os", "sys"} <= set(PID1_IMPORTS)
    assert {"os", "sys"} <= _imports(launcher_source("pkg.cli:main"))


def test_the_init_becomes_a_subreaper_when_it_is_not_pid_1() -> None:
    """The static format's case: the program's orphans come to the init, not to PID 1."""
    program = (
        "middle = os.fork()\n"
        "if middle == 0:\n"
        "    if os.fork() == 0:\n"  # the orphan: its parent ends at once
        "        time.sleep(0.3)\n"
        '        print("orphan of", os.getppid(), flush=True)\n'
        "    os._exit(0)\n"
        "os.waitpid(middle, 0)\n"
        "time.sleep(0.8)\n"
    )
    process = start(program)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out.split()) == (0, ["orphan", "of", str(process.pid)]), err
