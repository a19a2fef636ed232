"""The entrypoint of a layered image: run a console script as it would run outside PID 1.

The kernel gives a namespace's PID 1 no default signal actions: a Python program that
installs no SIGTERM handler simply ignores `docker stop` and is killed 10 s later. So when
this launcher finds itself PID 1, it forks: the child runs the program with ordinary
signal behaviour (it is not PID 1), in its own process group made the terminal's
foreground, and the parent stays as a minimal init. The parent forwards the signals a
runtime sends (TERM, INT, HUP, QUIT, USR1, USR2, WINCH) to the child, reaps orphans, and
ends with the child's status, 128+N when the child was killed by signal N (143 for TERM),
as `docker run --init` (tini) would. Forking after the interpreter has started costs about
a millisecond instead of a second interpreter start.

When it is not PID 1 (`docker run --init`, a shared process namespace, a shell) it runs
the program in its own process directly. The program runs as if started as the script:
`sys.argv[0]` and `sys.path[0]` are the script's, `__main__` is a fresh module.

This file is copied into the image as `/opt/krust/launch.py` and runs with the image's
Python; it uses only the standard library and must stay importable on Python 3.9.
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


def run_script(script: str, args: list[str]) -> None:
    """Execute `script` as `__main__` in this process."""
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


def supervise(child: int) -> int:
    """Forward signals to `child`, reap every child, return the exit status to end with."""

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for number in FORWARDED:
        signal.signal(number, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)


def become_foreground() -> None:
    """Own process group, and the terminal's foreground group when there is a terminal."""
    os.setpgid(0, 0)
    if os.isatty(0):
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(0, os.getpgrp())
        finally:
            signal.signal(signal.SIGTTOU, previous)


def main() -> int | None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: launch.py SCRIPT [ARGS...]\n")
        return 2
    script, args = sys.argv[1], sys.argv[2:]
    if os.getpid() != 1:
        run_script(script, args)
        return None
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    child = os.fork()
    if child == 0:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        become_foreground()
        run_script(script, args)
        return None
    try:
        os.setpgid(child, child)
    except OSError:
        pass  # the child got there first, or has already ended
    os._exit(supervise(child))


if __name__ == "__main__":
    sys.exit(main())
