"""The launcher script PyInstaller freezes: import the entry point, call it, exit with its result.

It mirrors what a console-script wrapper does, with a plain `import` statement so that
PyInstaller's analysis sees the project's module. When the project uses `multiprocessing`,
PyInstaller's runtime hook has imported it before the launcher runs; the launcher then
calls `multiprocessing.freeze_support()` first, as a frozen program must, so that a child
started by the `spawn` or `forkserver` method (`-B -s -c …` or `--multiprocessing-fork`)
runs the child's code instead of the project's entry point again.

Three more things a static executable needs that a console script does not:
- `sys.argv[0]` is the path the user ran (staticx's `STATICX_PROG_PATH`), not the
  temporary file staticx unpacked and started;
- the bundled OpenSSL looks for CA certificates where the *build* host keeps them. On a
  host that keeps them elsewhere (Alpine, Fedora, …) and with neither `SSL_CERT_FILE` nor
  `SSL_CERT_DIR` set, the launcher points `SSL_CERT_FILE` at the first bundle found in the
  places Go's crypto/x509 also looks, so HTTPS verifies there too. Only `stat` calls: no
  `import ssl` at start-up;
- as an image's entrypoint (staticx's bootloader as PID 1), a minimal init in the program
  itself, so `docker stop` ends a program without a SIGTERM handler with 143 (see
  `PID1_SOURCE`);
- an uncaught KeyboardInterrupt (Ctrl-C, SIGINT) ends with its traceback and status 130,
  as a shell reports Python's own end by SIGINT, instead of PyInstaller's "Failed to
  execute script" and 1.
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError
from hatch_krust.python.extras import split_entry_point

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CA_BUNDLES", "launcher_source", "parse_entry_point", "write_launcher"]

LAUNCHER_NAME = "krust_launcher.py"  # no project can import it: it shadows nothing

# Where Linux distributions keep their CA bundle (the list Go's crypto/x509 uses).
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Gentoo, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7
    "/etc/ssl/cert.pem",  # Alpine
)


# staticx's bootloader, when it is PID 1 (the image's entrypoint), cannot re-raise the
# signal that killed its child: the kernel ignores it for a namespace's init, and it exits
# 2 ("Child exited for unknown reason!") instead of 143 on `docker stop`. So when the
# PyInstaller bootloader's parent is PID 1, the frozen program forks once more: the parent
# forwards the runtime's signals and ends *normally* with the child's status, or 128+N
# when the child was killed by signal N, which the bootloaders pass on as it is. Not PID 1
# (a shell, `docker run --init`): nothing changes. The same design as the layered
# format's launcher (hatch_krust/layered/launch.py).
PID1_SOURCE = """\
def _krust_init():
    try:
        with open("/proc/%d/stat" % os.getppid(), "rb") as stat:
            if int(stat.read().rsplit(b")", 1)[1].split()[1]) != 1:
                return
    except (OSError, ValueError, IndexError):
        return
    import signal
    forwarded = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                 signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)
    signal.pthread_sigmask(signal.SIG_BLOCK, forwarded)
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)
        if os.isatty(0):
            previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            try:
                os.tcsetpgrp(0, os.getpgrp())
            except OSError:
                pass
            signal.signal(signal.SIGTTOU, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, forwarded)
        return

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for number in forwarded:
        signal.signal(number, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, forwarded)
    _pid, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))
"""


def _dotted(value: str) -> bool:
    parts = value.split(".")
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in parts)


def parse_entry_point(entry_point: str) -> tuple[str, str]:
    """Split `package.module:attr.path [extras]` into module and attribute path; reject the rest."""
    target, _extras = split_entry_point(entry_point)  # the extras are installed, not called
    module, sep, attr = target.partition(":")
    module, attr = module.strip(), attr.strip()
    if not sep or not _dotted(module) or not _dotted(attr):
        message = (
            f"The entry point `{entry_point}` is not of the form `package.module:function` "
            "(a module path, a colon, an attribute path), as in [project.scripts]."
        )
        raise FreezeError(message)
    return module, attr


def launcher_source(entry_point: str, ca_defaults: tuple[str, ...] = ()) -> str:
    """Python source that runs the entry point like a console script does.

    `ca_defaults` are the bundled OpenSSL's own certificate file and directory (as the
    build host has them); when one of them exists at run time nothing is changed.
    """
    module, attr = parse_entry_point(entry_point)
    # As a console script does: `from pkg import cli` imports the submodule `pkg.cli` when
    # the package does not (entry point `pkg:cli.main`).
    head, _, rest = attr.partition(".")
    return (
        '"""Generated by hatch-krust: runs the project\'s entry point."""\n'
        "import os\n"
        "import sys\n\n"
        f"{PID1_SOURCE}\n"
        'if __name__ == "__main__" and "multiprocessing" in sys.modules:\n'
        '    sys.modules["multiprocessing"].freeze_support()\n\n'
        'if __name__ == "__main__":\n'
        '    sys.argv[0] = os.environ.get("STATICX_PROG_PATH", sys.argv[0])\n'
        '    if not (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")'
        f" or any(map(os.path.exists, {ca_defaults!r}))):\n"
        f"        for _krust_bundle in {CA_BUNDLES!r}:\n"
        "            if os.path.isfile(_krust_bundle):\n"
        '                os.environ["SSL_CERT_FILE"] = _krust_bundle\n'
        "                break\n"
        "    _krust_init()\n\n"
        f"from {module} import {head} as _krust_entry\n\n"
        'if __name__ == "__main__":\n'
        "    try:\n"
        f"        _krust_status = _krust_entry{'.' + rest if rest else ''}()\n"
        "    except KeyboardInterrupt:\n"
        "        import traceback\n"
        "        traceback.print_exc()\n"
        "        _krust_status = 130\n"
        "    sys.exit(_krust_status)\n"
    )


def write_launcher(entry_point: str, directory: Path, ca_defaults: tuple[str, ...] = ()) -> Path:
    """Write the launcher alone in `directory`: PyInstaller puts that folder on its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LAUNCHER_NAME
    path.write_text(launcher_source(entry_point, ca_defaults), encoding="utf-8")
    return path
