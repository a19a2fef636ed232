"""A minimal init, so a Python program behaves as a container's first process as it does elsewhere.

The kernel gives a PID namespace's init no default signal actions: a program that installs
no SIGTERM handler ignores `docker stop` and is killed 10 s later. And staticx's
bootloader as PID 1 cannot re-raise the signal that killed its child: it ends with 2 where
a shell reports 143. So when the process that matters is PID 1, `start_init` forks:

- the child returns and runs the program with its own process group (`setpgid` in both
  parent and child, so neither can act before the group exists), made the terminal's
  foreground group when there is a terminal, and the default signal dispositions;
- the parent stays behind as the init: it forwards TERM, INT, HUP, QUIT, USR1, USR2 and
  WINCH to the child's process group, reaps every child (orphans reparented to PID 1
  included) while it waits for the program, and ends with the program's status, or 128+N
  when a signal N killed it (143 for TERM), as `docker run --init` (tini) would. An init
  that is not PID 1 itself (the static format's: staticx's bootloader is PID 1 and waits
  for its own child only) makes itself the children's subreaper (prctl, through ctypes),
  so the program's orphans come to it rather than to a PID 1 that leaves them zombies.

Signals are blocked across the fork, so none is lost in between. A terminal that refuses
`tcsetpgrp` (one that is not the process's controlling terminal) is left as it is: the
program still runs, and the terminal's Ctrl-C reaches it through the init's forwarding.

One source, two uses: the layered format ships this file as the image's launcher
(`python pid1.py SCRIPT ARGS...`, `main`), the static format's launcher embeds its text
and calls `start_init` (hatch_krust/freeze/launcher.py). It runs on the image's Python,
3.8 or later: standard library only, no syntax newer than 3.8 (tests/pid1/test_pid1.py).
"""

from __future__ import annotations

import os
import signal
import sys
import types

FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
)


def parent_of(pid: int) -> int | None:
    """The parent of process `pid` (from /proc), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # the name, in parentheses, may hold spaces: the fields after its last ")"
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def is_pid1(generations: int = 0) -> bool:
    """True when the process `generations` steps up from this one is PID 1 (0: this one)."""
    pid: int | None = os.getpid()
    for _ in range(generations):
        if pid is None or pid == 1:
            return False
        pid = parent_of(pid)
    return pid == 1


def exit_status(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128+N for signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def become_subreaper() -> bool:
    """Have the program's orphans reparented to this process instead of to PID 1.

    Best effort: False where ctypes or prctl is missing (orphans then go to PID 1).
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (ImportError, OSError, AttributeError):
        return False


def become_foreground() -> None:
    """The child: its own process group, the terminal's foreground group if it has one.

    A failing `tcsetpgrp` is ignored on purpose (see the module's docstring).
    """
    os.setpgid(0, 0)
    if not os.isatty(0):
        return
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group asking
    try:
        os.tcsetpgrp(0, os.getpgrp())
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTTOU, previous)


def restore_defaults() -> None:
    """The child: the dispositions a program expects (Python's KeyboardInterrupt for INT)."""
    for number in FORWARDED:
        default = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
        signal.signal(number, default)


def supervise(child: int) -> int:
    """The parent: forward signals to `child`'s group, reap every child until `child`
    ends, and return the status to end with."""

    def forward(signum: int, _frame: object) -> None:
        try:
            os.killpg(child, signum)
        except ProcessLookupError:
            pass  # the group has ended; its leader is about to be reaped

    for number in FORWARDED:
        signal.signal(number, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child:
            return exit_status(status)


def start_init() -> None:
    """Fork: return in the child, which runs the program; in the parent, supervise it and
    end the process with its status (never returns)."""
    if os.getpid() != 1:
        become_subreaper()
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    child = os.fork()
    if child == 0:
        become_foreground()
        restore_defaults()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        return
    try:
        os.setpgid(child, child)
    except OSError:
        pass  # the child got there first, or has already ended
    os._exit(supervise(child))


def run_script(script: str, args: list[str]) -> None:
    """Execute `script` as `__main__` in this process, as if it had been started itself;
    a native program (a wheel's `.data/scripts` ELF executable) replaces the process."""
    with open(script, "rb") as stream:
        if stream.read(4) == b"\x7fELF":
            os.execv(script, [script, *args])  # noqa: S606 - the program, as it is
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(script)
    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__dict__["__cached__"] = None
    sys.modules["__main__"] = main
    with open(script, "rb") as stream:
        # dont_inherit: the script must not get this file's `from __future__` flags
        code = compile(stream.read(), script, "exec", dont_inherit=True)
    exec(code, main.__dict__)  # noqa: S102 - running the program is the point


def main(argv: list[str]) -> int | None:
    """The layered image's entrypoint: `python pid1.py SCRIPT [ARGS...]`."""
    if len(argv) < 2:
        sys.stderr.write("usage: pid1.py SCRIPT [ARGS...]\n")
        return 2
    if is_pid1():
        start_init()
    run_script(argv[1], argv[2:])
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
