"""The `hatch-krust` command: push, copy, inspect and merge images; resolve and apply
Kubernetes YAML (building through `hatch_krust.flow`, a child process per
project); verify images and print their SBOM. More subcommands plug in.

stdout carries only the result (the pushed reference by digest, or inspect's JSON), so
`$(hatch-krust push …)` composes; progress and errors go to stderr. A KrustError becomes
one line on stderr and exit status 1, never a traceback; usage errors exit 2.

To add a subcommand, decorate a function `run(args) -> int` with `@command(name, help)`
and give it an `arguments(parser)` function: see `push` below.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

# httpx imports its own command line (rich, click: ~0.1 s) when it is imported; this
# process never runs it, and start-up is most of a push with nothing new to send.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from hatch_krust.__about__ import __version__
from hatch_krust.errors import INTERRUPTED, ConfigError, KrustError, failure, redact_userinfo
from hatch_krust.inputs import blob_record_file, default_cache_dir
from hatch_krust.oci.reference import Reference
from hatch_krust.registry import api
from hatch_krust.registry.api import LayoutLocation, Location, Options, parse_location

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "Command", "command", "main"]

log = logging.getLogger("hatch_krust")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register `run(args) -> int` as subcommand `name`; `arguments` adds its options."""

    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = Command(name, help_text, arguments, run)
        return run

    return register


# -- shared options ---------------------------------------------------------------------------


# what `--jobs` counts for each command: blobs here, projects in `resolve`
_JOBS_HELP = {
    "push": "blobs uploaded at once (default 4)",
    "copy": "blobs copied at once (default 4)",
    "merge": "blobs copied and pushed at once while joining (default 4)",
}
_JOBS_READING = "blobs read at once (default 4; this command reads few)"


def _registry_options(parser: argparse.ArgumentParser, command_name: str) -> None:
    group = parser.add_argument_group("registry access")
    group.add_argument(
        "--insecure-registry", action="append", default=[], metavar="HOST[:PORT]",
        help="allow plain http and unverified TLS for this registry (repeatable; also "
        "KRUST_INSECURE_REGISTRIES). Loopback registries may always use http.",
    )
    group.add_argument(
        "--authfile", metavar="FILE",
        help="read credentials from this auth.json first (like REGISTRY_AUTH_FILE)",
    )
    group.add_argument("--jobs", type=_positive, default=4, metavar="N",
                       help=_JOBS_HELP.get(command_name, _JOBS_READING))
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="log retries and requests")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        message = f"expected a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(message)
    return value


_INSECURE = "KRUST_INSECURE_REGISTRIES"


def _blob_record(env: dict[str, str]) -> Path | None:
    """Where pushes remember which repositories hold which blobs; none without a cache
    directory (an empty root with no HOME): the record is only a hint."""
    try:
        return blob_record_file(default_cache_dir(env))
    except ConfigError:
        return None


def _options(args: argparse.Namespace) -> Options:
    env = dict(os.environ)
    if args.authfile:
        env["REGISTRY_AUTH_FILE"] = args.authfile
    # the registry module reads no environment: its variables are read here, at the edge
    insecure = [*args.insecure_registry, *env.get(_INSECURE, "").replace(",", " ").split()]
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    options = Options(
        insecure=frozenset(insecure),
        jobs=args.jobs,
        env=env,
        epoch=int(epoch) if epoch.isdigit() else 0,
        blob_record=_blob_record(env),
    )
    if not args.quiet:
        options = replace(options, progress=_Progress())
    return options


class _Progress:
    """One stderr line per blob when it is done: `sha256:0123abcd… 12.3 MB`."""

    def __init__(self) -> None:
        self._done: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, digest: str, done: int, total: int) -> None:
        if done < total:
            return
        with self._lock:
            if digest in self._done:
                return
            self._done.add(digest)
        print(f"  {digest[:19]}… {total / 1e6:.1f} MB", file=sys.stderr, flush=True)


def _result(location: Location, digest: str) -> str:
    if isinstance(location, Reference):
        return str(location.with_digest(digest))
    return f"{'oci-archive' if location.archive else 'oci'}:{location.path}@{digest}"


_ANY_LOCATION = "registry reference, oci:DIR[:TAG] or oci-archive:FILE[:TAG]"


def _location(parser: argparse.ArgumentParser, name: str, metavar: str) -> None:
    """A positional SRC/DST/REF that may be a registry reference or a layout."""
    parser.add_argument(name, metavar=metavar, help=_ANY_LOCATION)


def _platform(parser: argparse.ArgumentParser, what: str) -> None:
    """`--platform`: what it does to an index, for this command."""
    parser.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help=what)


def _tags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tag", action="append", default=[], metavar="TAG",
                        help="also apply this tag (repeatable)")


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:  # echoes what the user typed: a login in it is not shown
        print(redact_userinfo(text), file=sys.stderr, flush=True)


# -- push -----------------------------------------------------------------------------------


def _push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC", help="oci:DIR[:TAG] or oci-archive:FILE[:TAG]")
    parser.add_argument("destination", metavar="DST", help="registry reference host/repo[:tag]")
    _tags(parser)
    parser.add_argument("--mount-from", metavar="REPO",
                        help="another repository of the same registry to mount blobs from")
    _registry_options(parser, "push")


@command("push", "push an OCI layout or archive to a registry", _push_arguments)
def push(args: argparse.Namespace) -> int:
    source = parse_location(args.source)
    dest = parse_location(args.destination)
    if not isinstance(source, LayoutLocation):
        message = (
            f"push: SRC must be oci:DIR[:TAG] or oci-archive:FILE[:TAG], not {args.source!r} "
            "(use `copy` between registries)"
        )
        raise KrustError(message)
    if not isinstance(dest, Reference):
        message = f"push: DST must be a registry reference, not {args.destination!r}"
        raise KrustError(message)
    return _transfer(args, ("Pushing", source, dest), mount_from=args.mount_from)


def _transfer(
    args: argparse.Namespace,
    what: tuple[str, Location, Location],
    *,
    platform: str | None = None,
    mount_from: str | None = None,
) -> int:
    """push and copy: (verb, source, destination), said, done, and the result printed."""
    verb, source, dest = what
    _say(args, f"{verb} {source} to {dest}")
    digest = api.copy(source, dest, platform=platform, tags=args.tag, mount_from=mount_from,
                      options=_options(args))
    print(_result(dest, digest))
    return 0


# -- copy -----------------------------------------------------------------------------------


def _copy_arguments(parser: argparse.ArgumentParser) -> None:
    _location(parser, "source", "SRC")
    _location(parser, "destination", "DST")
    _platform(parser, "copy only this platform's image of an index")
    _tags(parser)
    _registry_options(parser, "copy")


@command("copy", "copy an image or index between registries and OCI layouts", _copy_arguments)
def copy(args: argparse.Namespace) -> int:
    what = ("Copying", parse_location(args.source), parse_location(args.destination))
    return _transfer(args, what, platform=args.platform)


# -- inspect --------------------------------------------------------------------------------


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    _location(parser, "reference", "REF")
    _platform(parser, "resolve an index to this platform's image")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--raw", action="store_true", help="print only the manifest, as stored")
    shown.add_argument("--config", action="store_true", help="print only the image config")
    _registry_options(parser, "inspect")


@command("inspect", "print the manifest, index or config of an image as JSON",
         _inspect_arguments)
def inspect(args: argparse.Namespace) -> int:
    options = replace(_options(args), progress=None)
    result = api.inspect(args.reference, platform=args.platform,
                         config=not args.raw, raw=args.raw, options=options)
    if args.raw:  # the exact bytes: `sha256sum` of this output is the digest
        sys.stdout.buffer.write(result["raw"])
        sys.stdout.buffer.flush()
        return 0
    if args.config:
        if "config" not in result:
            message = f"{args.reference} is an index; pass --platform to pick an image"
            raise KrustError(message)
        document = result["config"]
    else:
        document = result
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


# -- merge ----------------------------------------------------------------------------------


def _merge_arguments(parser: argparse.ArgumentParser) -> None:
    _location(parser, "destination", "DST")
    parser.add_argument("sources", metavar="SRC", nargs="+",
                        help="per-platform images or indexes (registry references or layouts)")
    _tags(parser)
    _registry_options(parser, "merge")


@command("merge", "join per-platform images built on different machines into one index",
         _merge_arguments)
def merge(args: argparse.Namespace) -> int:
    from hatch_krust.registry.api import merge as merge_images

    if len(args.sources) > 1:  # one is refused by `merge_images`, in a line of its own
        _say(args, f"Merging {len(args.sources)} images into {args.destination}")
    print(merge_images(args.destination, args.sources, tags=args.tag, options=_options(args)))
    return 0


# -- resolve / apply ------------------------------------------------------------------------


def _resolve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--filename", action="append", required=True, metavar="FILE_OR_DIR",
        help="a YAML file, a directory of *.yaml/*.yml files, or - for stdin (repeatable)",
    )
    parser.add_argument("-R", "--recursive", action="store_true",
                        help="also read the YAML files of the directories' subdirectories")
    parser.add_argument("-j", "--jobs", type=_positive, default=None, metavar="N",
                        help="projects built at once (default: the cores, at most 4); not "
                        "blob transfers, which each build's push does 4 at a time")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no build progress on stderr (a failed build's last lines are "
                        "still shown)")
    parser.add_argument("--allow-outside", action="append", default=[], type=Path,
                        metavar="DIR", help="also build krust://PATH projects under DIR "
                        "(default: only under the current directory; repeatable)")
    parser.add_argument("--image-refs", type=Path, default=None, metavar="FILE",
                        help="also write every reference built to FILE, one a line, in the "
                        "order the YAML first names each project (ko's --image-refs)")


def _apply_arguments(parser: argparse.ArgumentParser) -> None:
    _resolve_arguments(parser)
    parser.add_argument("kubectl_args", nargs="*", metavar="-- KUBECTL_ARG",
                        help="passed to `kubectl apply -f -` (put them after --)")


@command("resolve", "build the krust://PATH images in Kubernetes YAML, print it with their "
         "pushed digests", _resolve_arguments)
def resolve(args: argparse.Namespace) -> int:
    from hatch_krust.resolve import resolve as resolve_yaml

    text = resolve_yaml(args.filename, recursive=args.recursive, jobs=args.jobs,
                        quiet=args.quiet, allow_outside=args.allow_outside,
                        image_refs=args.image_refs, env=dict(os.environ))
    out = getattr(sys.stdout, "buffer", None)
    if out is not None:
        sys.stdout.flush()
        out.write(text.encode("utf-8"))
        out.flush()
    else:  # pragma: no cover - a replaced stdout without bytes
        sys.stdout.write(text)
    return 0


@command("apply", "resolve, then pipe the YAML into `kubectl apply -f -`", _apply_arguments)
def apply(args: argparse.Namespace) -> int:
    from hatch_krust.resolve import apply as apply_yaml

    status = apply_yaml(args.filename, args.kubectl_args, recursive=args.recursive,
                        jobs=args.jobs, quiet=args.quiet, allow_outside=args.allow_outside,
                        image_refs=args.image_refs, env=dict(os.environ))
    if status != 0:
        print(f"hatch-krust: error: kubectl apply exited with status {status}", file=sys.stderr)
    return status


# -- verify and sbom -------------------------------------------------------------------------


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reference", metavar="REF",
                        help="registry reference host/repo[:tag|@digest]")
    _platform(parser, "check only this platform's image of an index")
    _registry_options(parser, "verify")


@command("verify", "check an image's attached SBOM and provenance against the image itself",
         _verify_arguments)
def verify(args: argparse.Namespace) -> int:
    from hatch_krust.attest.verify import verify as verify_image

    options = replace(_options(args), progress=None)
    reference = _attached_to(args.reference, "verify")
    for report in verify_image(reference, platform=args.platform, options=options):
        where = f"{report.digest} ({report.platform})" if report.platform else report.digest
        _say(args, f"{where}: {', '.join(report.attachments)}")
        for check in report.checks:
            _say(args, f"  ok: {check}")
    print(f"verified {args.reference}")
    return 0


def _attached_to(text: str, command: str) -> Reference:
    """REF of `verify` and `sbom`: the documents are referrers, which only a registry has."""
    location = parse_location(text)
    if isinstance(location, LayoutLocation):
        message = (
            f"{command} reads the documents attached to an image in a registry; {text!r} is "
            "a local layout: push it and give the registry reference, or read the build's own "
            "documents beside the archive (NAME-VERSION.cdx.json or .spdx.json, and "
            ".provenance.json)"
        )
        raise KrustError(message)
    return location


def _sbom_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reference", metavar="REF",
                        help="registry reference host/repo[:tag|@digest]")
    _platform(parser, "print the SBOM of this platform's image of an index (needed when the "
              "index has more than one)")
    _registry_options(parser, "sbom")


@command("sbom", "print the SBOM attached to an image", _sbom_arguments)
def sbom(args: argparse.Namespace) -> int:
    from hatch_krust.attest.verify import attached_sbom

    options = replace(_options(args), progress=None)
    reference = _attached_to(args.reference, "sbom")
    document = attached_sbom(reference, platform=args.platform, options=options)
    sys.stdout.write(document.decode("utf-8", errors="replace"))
    sys.stdout.flush()
    return 0


# -- entry point ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hatch-krust",
        description=(
            "Push, copy, inspect, merge and verify OCI images without a Docker daemon, and "
            "resolve krust:// references in Kubernetes YAML. Building is Hatch's: "
            "`hatch build -t krust` makes the image (dist/krust/NAME-VERSION.oci.tar, pushed "
            "when a repository is set), `hatch build -t krust:binary` only the executable."
        ),
        epilog="Each command's --help gives its options; docs/cli.md describes them all.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in COMMANDS.values():
        sub = subparsers.add_parser(entry.name, help=entry.help, description=entry.help)
        entry.arguments(sub)
        sub.set_defaults(run=entry.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0, 1 for errors, 2 for usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    _configure_logging(getattr(args, "verbose", False))
    try:
        status = int(args.run(args))
        sys.stdout.flush()  # a reader gone before our last line shows here, not at exit
        return status
    except BrokenPipeError as exc:
        if _stdout_closed():
            return CLOSED_STDOUT
        message, status = failure(exc) or (str(exc), 1)
        print("hatch-krust: error: " + message, file=sys.stderr)
        return status
    except (KrustError, OSError, KeyboardInterrupt) as exc:
        message, status = failure(exc) or (str(exc), 1)
        prefix = "hatch-krust: " if status == INTERRUPTED else "hatch-krust: error: "
        print(prefix + message, file=sys.stderr)
        return status


# `hatch-krust inspect REF | head -c 1`: the reader went away. Like coreutils (killed by
# SIGPIPE), end without a word and with 128 + SIGPIPE.
CLOSED_STDOUT = 141


def _stdout_closed() -> bool:
    """Whether stdout's reader is gone (not a registry connection that broke): a pipe with
    no reader polls as an error. If so, stdout now points at /dev/null, so the
    interpreter's own flush at exit has nothing to say."""
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        closed = any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False
    if closed:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return closed


class _RedactingFormatter(logging.Formatter):
    """Log lines lose any `user:password@`, as error messages do."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_userinfo(super().format(record))


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("hatch-krust: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    log.propagate = False
