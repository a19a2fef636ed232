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
  hatch_krust/pid1.py, whose text the launcher embeds);
- an uncaught KeyboardInterrupt (Ctrl-C, SIGINT) ends with its traceback and status 130,
  as a shell reports Python's own end by SIGINT, instead of PyInstaller's "Failed to
  execute script" and 1.

And a check mode for the build: with `HATCH_KRUST_IMPORT_CHECK` set, the program imports
the modules the build lists instead of running (hatch_krust/freeze/checkmode.py, whose
text the launcher embeds; hatch_krust/freeze/importcheck.py runs it).
"""

from __future__ import annotations

import keyword
from importlib import resources
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError
from hatch_krust.freeze.checkmode import CHECK_ENV
from hatch_krust.freeze.importcheck import check_source
from hatch_krust.python.extras import split_entry_point

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CA_BUNDLES",
    "CHECK_IMPORTS",
    "PID1_IMPORTS",
    "launcher_source",
    "parse_entry_point",
    "write_launcher",
]

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


# staticx's bootloader as PID 1 (the image's entrypoint) cannot re-raise the signal that
# killed its child: it ends with 2 ("Child exited for unknown reason!") instead of 143 on
# `docker stop`. So when the PyInstaller bootloader's parent is PID 1 (two generations up),
# the frozen program runs hatch_krust/pid1.py's init: it forks once more, and the parent
# forwards signals and *exits* with the child's status or 128+N, which both bootloaders pass
# on as it is. Not PID 1 (a shell, `docker run --init`): nothing changes. The launcher
# embeds that file's text, the same text the layered format ships, and runs it as a module
# of its own (its `from __future__` line must come first in a module).
PID1_GENERATIONS = 2
# What the embedded source imports beyond os and sys: PyInstaller's analysis does not read
# the text, so these are its hidden imports (not imported at start: ctypes costs time).
PID1_IMPORTS = ("__future__", "ctypes", "signal", "types")
# What the embedded check mode imports beyond os and sys (hidden imports, as above).
CHECK_IMPORTS = ("importlib", "json")


def pid1_source() -> str:
    """The text of hatch_krust/pid1.py, as the layered format ships it."""
    return (resources.files("hatch_krust") / "pid1.py").read_text(encoding="utf-8")


def _init_block() -> str:
    """Define `_krust_init()`: run the embedded PID-1 module's init when it applies."""
    return (
        f"_KRUST_PID1 = {pid1_source()!r}\n\n\n"
        "def _krust_init():\n"
        "    import types\n\n"
        '    pid1 = types.ModuleType("krust_pid1")\n'
        '    exec(compile(_KRUST_PID1, "krust_pid1.py", "exec"), pid1.__dict__)\n'
        f"    if pid1.is_pid1({PID1_GENERATIONS}):\n"
        "        pid1.start_init()\n\n"
    )


def _check_block() -> str:
    """The build's import check: with the variable set, import the listed modules and exit
    (the text of hatch_krust/freeze/checkmode.py, run as a module of its own)."""
    return (
        f"_KRUST_CHECK = {check_source()!r}\n\n"
        f'if __name__ == "__main__" and os.environ.get("{CHECK_ENV}"):\n'
        "    import types\n\n"
        '    _krust_check = types.ModuleType("krust_checkmode")\n'
        '    exec(compile(_KRUST_CHECK, "krust_checkmode.py", "exec"), _krust_check.__dict__)\n'
        f'    sys.exit(_krust_check.main(os.environ["{CHECK_ENV}"]))\n\n'
    )


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


_HEADER = (
    '"""Generated by hatch-krust: runs the project\'s entry point."""\nimport os\nimport sys\n\n'
)

# A child that `multiprocessing` started runs its own code here, not the entry point.
_FREEZE_SUPPORT = (
    'if __name__ == "__main__" and "multiprocessing" in sys.modules:\n'
    '    sys.modules["multiprocessing"].freeze_support()\n\n'
)


def _prelude_block(ca_defaults: tuple[str, ...]) -> str:
    """argv[0] as the user ran it, a CA bundle where the host keeps one, then the init."""
    return (
        'if __name__ == "__main__":\n'
        '    sys.argv[0] = os.environ.get("STATICX_PROG_PATH", sys.argv[0])\n'
        '    if not (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")'
        f" or any(map(os.path.exists, {ca_defaults!r}))):\n"
        f"        for _krust_bundle in {CA_BUNDLES!r}:\n"
        "            if os.path.isfile(_krust_bundle):\n"
        '                os.environ["SSL_CERT_FILE"] = _krust_bundle\n'
        "                break\n"
        "    _krust_init()\n\n"
    )


def _entry_block(module: str, head: str, rest: str) -> str:
    """Import the entry point statically (PyInstaller sees it), call it, exit with its result."""
    return (
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


def launcher_source(entry_point: str, ca_defaults: tuple[str, ...] = ()) -> str:
    """Python source that runs the entry point like a console script does.

    `ca_defaults` are the bundled OpenSSL's own certificate file and directory (as the
    build host has them); when one of them exists at run time nothing is changed. The
    source is a sequence of blocks, each doing one of the launcher's duties in order.
    """
    module, attr = parse_entry_point(entry_point)
    # As a console script does: `from pkg import cli` imports the submodule `pkg.cli` when
    # the package does not (entry point `pkg:cli.main`).
    head, _, rest = attr.partition(".")
    blocks = (
        _HEADER,
        _init_block(),
        _FREEZE_SUPPORT,
        _check_block(),
        _prelude_block(ca_defaults),
        _entry_block(module, head, rest),
    )
    return "".join(blocks)


def write_launcher(entry_point: str, directory: Path, ca_defaults: tuple[str, ...] = ()) -> Path:
    """Write the launcher alone in `directory`: PyInstaller puts that folder on its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LAUNCHER_NAME
    path.write_text(launcher_source(entry_point, ca_defaults), encoding="utf-8")
    return path
