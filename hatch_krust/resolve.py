"""`hatch-krust resolve` and `apply`: Kubernetes YAML with `krust://PATH` image references.

Like `ko resolve`: every scalar whose whole value is `krust://PATH` names a project
directory (relative to the current directory, with a `pyproject.toml`). Each distinct
project is built once with `python -m hatchling build -t krust` (which pushes it when a
repository is known and prints `HOST/REPO@sha256:…`), and the YAML is printed with each
reference replaced by that digest reference.

The replacement is done on the text, not by re-serialising YAML, so comments, order,
quoting and document separators stay byte-for-byte as they were. A small scanner finds
scalars the way YAML does: it knows comments, quoted and plain scalars (also spanning
lines), block scalars (`|`, `>`) and flow collections (`[…]`, `{…}`). Only whole scalar
*values* are references: a mapping key, a comment, text inside a block scalar and a
longer string that merely contains `krust://` are left alone.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import KrustError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "SCHEME",
    "Occurrence",
    "Project",
    "YamlFile",
    "apply",
    "build_project",
    "collect_files",
    "default_jobs",
    "find_references",
    "join_files",
    "push_problem",
    "read_files",
    "replace_references",
    "resolve",
]

SCHEME = "krust://"
STDIN = "-"
YAML_SUFFIXES = (".yaml", ".yml")
TAIL_LINES = 20  # lines of a failed build's stderr quoted in the error
_REFERENCE = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_SPACE = " \t\r"
_FLOW = ",[]{}"


# -- finding references ---------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One `krust://PATH` scalar: `text[start:end]` is its value as written (inside the
    quotes, if it is quoted)."""

    path: str  # what follows krust://
    start: int
    end: int
    line: int  # 1-based


def find_references(text: str, name: str = "<yaml>") -> list[Occurrence]:
    """Every scalar value of `text` that is exactly `krust://PATH`, in order.

    Raises KrustError naming `name:line` for a value that starts with `krust://` but has
    no usable path (empty, or with white space in it).
    """
    scanner = _Scanner(text)
    scanner.scan()
    bad = [
        f"{name}:{_line_of(text, start)}: a `krust://` value must be one scalar on one line"
        if multiline
        else f"{name}:{_line_of(text, start)}: {text[start:end]!r} is not `krust://PATH` "
        "(PATH must be a project directory, without spaces)"
        for start, end, multiline in scanner.invalid
    ]
    if bad:
        raise KrustError("\n".join(bad))
    return scanner.found


def replace_references(
    text: str, occurrences: Sequence[Occurrence], images: Mapping[str, str]
) -> str:
    """`text` with each occurrence replaced by `images[occurrence.path]`; nothing else changes."""
    out: list[str] = []
    last = 0
    for occurrence in sorted(occurrences, key=lambda o: o.start):
        out.append(text[last : occurrence.start])
        out.append(images[occurrence.path])
        last = occurrence.end
    out.append(text[last:])
    return "".join(out)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class _Scanner:
    """Just enough of YAML's scanner to know where the scalar values are.

    Not a validator: on text that is not YAML it finds what it can. Block context is read a
    line at a time; flow collections and quoted scalars may run over several lines.
    """

    def __init__(self, text: str) -> None:
        self.t = text
        self.n = len(text)
        self.found: list[Occurrence] = []
        self.invalid: list[tuple[int, int, bool]] = []  # (start, end, runs over lines)
        self.in_key = False  # after `?`: the node is a mapping key
        # Inside a block scalar (`|`, `>`): lines indented deeper than this are its text.
        self.block_parent: int | None = None
        # A plain scalar that ended a line: a deeper-indented next line continues it, so it
        # is only a whole value once the next line is seen. (start, end) or None, and the
        # indentation a continuation line must exceed.
        self.pending: tuple[tuple[int, int] | None, int] | None = None

    # helpers

    def _sep(self, i: int) -> bool:
        """Is `t[i]` white space or the end (what makes `-`, `:`, `?` indicators)?"""
        return i >= self.n or self.t[i] in " \t\r\n"

    def _eol(self, i: int) -> int:
        end = self.t.find("\n", i)
        return self.n if end == -1 else end

    def _column(self, i: int) -> int:
        return i - (self.t.rfind("\n", 0, i) + 1)

    def _skip_space(self, i: int, end: int) -> int:
        while i < end and self.t[i] in _SPACE:
            i += 1
        return i

    def _token_end(self, i: int) -> int:
        """End of an anchor, tag or alias: the next white space or flow indicator."""
        while i < self.n and self.t[i] not in " \t\r\n" + _FLOW:
            i += 1
        return i

    def _candidate(self, start: int, end: int, value: str, *, multiline: bool = False) -> None:
        if self.in_key or not value.startswith(SCHEME):
            return
        path = value[len(SCHEME) :]
        if multiline or not path or any(c.isspace() or not c.isprintable() for c in path):
            self.invalid.append((start, end, multiline))
            return
        self.found.append(Occurrence(path, start, end, _line_of(self.t, start)))

    def _settle(self) -> None:
        """The pending plain scalar did not continue: it is a whole value."""
        if self.pending is not None and self.pending[0] is not None:
            start, end = self.pending[0]
            self._candidate(start, end, self.t[start:end])
        self.pending = None

    # the scan

    def scan(self) -> None:
        pos = 0
        while pos < self.n:
            pos = self._line(pos, self._eol(pos))
        self._settle()

    def _line(self, start: int, eol: int) -> int:
        """Read the line `t[start:eol]`; return where the next unread line starts."""
        line = self.t[start:eol]
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.lstrip(" \t").rstrip("\r")
        if self.block_parent is not None and (not stripped.strip() or indent > self.block_parent):
            return eol + 1  # text of the block scalar
        self.block_parent = None
        if line[:3] in {"---", "..."} and (len(line) == 3 or line[3] in " \t\r"):
            self._settle()
            # `...` ends a document; `---` starts one and may carry a node (`--- |`)
            return eol + 1 if line.startswith("...") else self._nodes(start + 3, eol, -1)
        if self._nothing_to_scan(line, stripped, indent):
            return eol + 1
        self._settle()
        return self._nodes(start + len(line) - len(line.lstrip(" \t")), eol, indent - 1)

    def _nothing_to_scan(self, line: str, stripped: str, indent: int) -> bool:
        """A blank, comment, directive or continuation line (noting what it settles)."""
        if not stripped:
            return True  # blank lines may sit inside a multi-line plain scalar
        if stripped.startswith("#"):
            self._settle()  # a comment line ends a plain scalar
            return True
        if line.startswith("%") and self.pending is None:
            return True  # a directive (%YAML, %TAG)
        if self.pending is not None and indent > self.pending[1]:
            if self.pending[0] is not None:  # continues the scalar, which is then no path
                start, end = self.pending[0]
                self._candidate(start, end, self.t[start:end], multiline=True)
            self.pending = (None, self.pending[1])
            return True
        return False

    def _nodes(self, pos: int, eol: int, owner: int) -> int:
        """Block context from `pos` to the end of the line (or further, for flow and quoted
        scalars). `owner` is the indentation that continuation lines must exceed."""
        t = self.t
        self.in_key = False
        while True:
            pos = self._skip_space(pos, eol)
            if pos >= eol or t[pos] == "#":
                return eol + 1
            if t[pos] in "-?:" and self._sep(pos + 1):  # sequence entry, explicit key or value
                self.in_key = t[pos] == "?"
                owner = self._column(pos)
                pos += 1
                continue
            while pos < eol and t[pos] in "!&":  # a tag or an anchor before the node
                pos = self._skip_space(self._token_end(pos), eol)
            step = self._block_node(pos, eol, owner)
            if step is None:
                return eol + 1
            pos, eol, owner = step

    def _block_node(self, pos: int, eol: int, owner: int) -> tuple[int, int, int] | None:
        """Read the node at `pos`: (where to go on, end of that line, owner), or None when the
        rest of the line holds nothing more."""
        c = self.t[pos] if pos < eol else "#"
        if c == "#" or c in "|>":
            if c != "#":
                self.block_parent = owner  # a block scalar: its text is on the next lines
            return None
        if c == "*":  # an alias
            return self._token_end(pos), eol, owner
        if c in "[{":
            pos = self._flow(pos)
            return pos, self._eol(pos), owner
        if c in "\"'":
            start, end, value, multiline, after = self._quoted(pos)
            eol = self._eol(after)
            colon = self._skip_space(after, eol)
            if colon < eol and self.t[colon] == ":" and (self._sep(colon + 1) or not multiline):
                return colon + 1, eol, self._column(pos)  # it was a key
            self._candidate(start, end, value, multiline=multiline)
            return after, eol, owner
        return self._block_plain(pos, eol, owner)

    def _block_plain(self, pos: int, eol: int, owner: int) -> tuple[int, int, int]:
        t = self.t
        start = pos
        while pos < eol:
            c = t[pos]
            if (c == ":" and self._sep(pos + 1)) or (c == "#" and t[pos - 1] in _SPACE):
                break
            pos += 1
        if pos < eol and t[pos] == ":":
            return pos + 1, eol, self._column(start)  # it was a key
        if self.in_key:
            return pos, eol, owner
        # a value; whether it is whole is known at the next line
        self.pending = ((start, start + len(t[start:pos].rstrip(_SPACE))), owner)
        return pos, eol, owner

    def _flow(self, pos: int) -> int:
        """A flow collection starting at `pos`; return the position after its end."""
        t, n = self.t, self.n
        depth = 0
        while pos < n:
            c = t[pos]
            if c in "[{":
                depth += 1
                pos += 1
            elif c in "]}":
                depth -= 1
                pos += 1
                if depth <= 0:
                    return pos
            elif c in ", \t\r\n":
                pos += 1
            elif c == "#" and t[pos - 1] in " \t\r\n":
                pos = self._eol(pos)
            elif c in "?:" and (self._sep(pos + 1) or t[pos + 1] in _FLOW):
                pos += 1
            elif c in "!&*":
                pos = self._token_end(pos)
            elif c in "\"'":
                start, end, value, multiline, pos = self._quoted(pos)
                after = self._skip_space(pos, n)
                if after < n and t[after] == ":":  # a key (`"a":b` is allowed in flow)
                    pos = after + 1
                else:
                    self._candidate(start, end, value, multiline=multiline)
            else:
                pos = self._flow_plain(pos)
        return pos

    def _flow_plain(self, pos: int) -> int:
        t, n = self.t, self.n
        start = end = pos
        multiline = False
        while pos < n:
            c = t[pos]
            if c in _FLOW:
                break
            if c == ":" and (self._sep(pos + 1) or t[pos + 1] in _FLOW):
                break
            if c == "#" and t[pos - 1] in " \t\r\n":
                break
            if c == "\n":
                ahead = pos
                while ahead < n and t[ahead] in " \t\r\n":
                    ahead += 1
                if (
                    ahead >= n
                    or t[ahead] in _FLOW + "#"
                    or (t[ahead] == ":" and (self._sep(ahead + 1) or t[ahead + 1] in _FLOW))
                ):
                    break
                multiline = True  # the scalar goes on on the next line
                pos = ahead
                continue
            if c not in _SPACE:
                end = pos + 1
            pos += 1
        if pos < n and t[pos] == ":":
            return pos + 1  # a key
        self._candidate(start, end, t[start:end], multiline=multiline)
        return pos

    def _quoted(self, pos: int) -> tuple[int, int, str, bool, int]:
        """(start, end, value, multiline, next position) of the quoted scalar at `pos`."""
        t, n = self.t, self.n
        quote = t[pos]
        start = i = pos + 1
        escaped = multiline = False
        while i < n:
            c = t[i]
            if c == "\n":
                multiline = True
            if quote == '"' and c == "\\":
                escaped = True
                i += 2
                continue
            if c == quote:
                if quote == "'" and i + 1 < n and t[i + 1] == "'":
                    escaped = True
                    i += 2
                    continue
                break
            i += 1
        end = min(i, n)
        raw = t[start:end]
        if not escaped:
            value = raw
        elif quote == "'":
            value = raw.replace("''", "'")
        else:
            value = _unescape(raw)
        return start, end, value, multiline, min(end + 1, n)


_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX = {"x": 2, "u": 4, "U": 8}


def _unescape(raw: str) -> str:
    """The value of a one-line double-quoted scalar (an unknown escape is kept as written)."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != "\\" or i + 1 >= len(raw):
            out.append(c)
            i += 1
            continue
        code = raw[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX and _hex_escape(raw[i + 2 : i + 2 + _HEX[code]], _HEX[code]):
            width = _HEX[code]
            out.append(chr(int(raw[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            out.append(raw[i : i + 2])
            i += 2
    return "".join(out)


def _hex_escape(digits: str, width: int) -> bool:
    return (
        len(digits) == width
        and all(d in "0123456789abcdefABCDEF" for d in digits)
        and int(digits, 16) <= sys.maxunicode
    )


# -- files ----------------------------------------------------------------------------------


@dataclass
class YamlFile:
    name: str  # as given (or found in a directory); `-` is standard input
    text: str
    occurrences: list[Occurrence] = field(default_factory=list)


def collect_files(
    sources: Sequence[str], *, recursive: bool = False, cwd: Path | None = None
) -> list[str]:
    """The files `-f` names, in order: a file as it is; a directory's `*.yaml` and `*.yml`
    files sorted by path (with `recursive`, those of its subdirectories too, in the order
    kubectl walks them); `-` for standard input. Relative names are relative to `cwd`."""
    base = Path.cwd() if cwd is None else cwd
    files: list[str] = []
    for source in sources:
        if source == STDIN:
            files.append(STDIN)
            continue
        path = base / source
        if path.is_dir():
            found = path.rglob("*") if recursive else path.iterdir()
            chosen = sorted(
                (p for p in found if p.suffix in YAML_SUFFIXES and p.is_file()),
                key=lambda p: p.relative_to(path).parts,
            )
            if not chosen:
                hint = "" if recursive else " (-R also reads its subdirectories)"
                message = f"{source}: the directory has no .yaml or .yml files{hint}"
                raise KrustError(message)
            files.extend(str(Path(source, *p.relative_to(path).parts)) for p in chosen)
        elif path.exists():
            files.append(source)
        else:
            message = f"{source}: no such file or directory"
            raise KrustError(message)
    return files


def read_files(
    names: Sequence[str], stdin: Callable[[], bytes] | None = None, cwd: Path | None = None
) -> list[YamlFile]:
    """Read and scan each file (UTF-8, line endings kept as they are)."""
    base = Path.cwd() if cwd is None else cwd
    result: list[YamlFile] = []
    for name in names:
        if name == STDIN:
            data = stdin() if stdin is not None else sys.stdin.buffer.read()
        else:
            data = (base / name).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise KrustError(message) from None
        shown = "<stdin>" if name == STDIN else name
        result.append(YamlFile(shown, text, find_references(text, shown)))
    return result


def join_files(texts: Sequence[str]) -> str:
    """The files one after the other, each new file starting a new document (`---`) unless
    it starts with its own `---`."""
    out: list[str] = []
    for i, text in enumerate(texts):
        if i > 0:
            if out and out[-1] and not out[-1].endswith("\n"):
                out.append("\n")
            if not (text.startswith("---") and (len(text) == 3 or text[3] in " \t\r\n")):
                out.append("---\n")
        out.append(text)
    return "".join(out)


# -- projects and builds --------------------------------------------------------------------


@dataclass
class Project:
    directory: Path  # resolved: two spellings of one directory are one project
    label: str  # the path as first written, for messages and progress
    places: list[str] = field(default_factory=list)  # FILE:LINE of each reference


def projects_of(files: Sequence[YamlFile], cwd: Path) -> dict[str, Project]:
    """Each distinct project, keyed by the path as written (several keys may share one)."""
    by_directory: dict[Path, Project] = {}
    by_path: dict[str, Project] = {}
    problems: list[str] = []
    for yaml_file in files:
        for occurrence in yaml_file.occurrences:
            place = f"{yaml_file.name}:{occurrence.line}"
            directory = (cwd / occurrence.path).resolve()
            project = by_directory.get(directory)
            if project is None:
                project = by_directory[directory] = Project(directory, occurrence.path)
            project.places.append(place)
            by_path[occurrence.path] = project
    for project in by_directory.values():
        where = ", ".join(project.places)
        if not project.directory.is_dir():
            problems.append(
                f"{SCHEME}{project.label} ({where}): no such directory {project.directory}"
            )
        elif not (project.directory / "pyproject.toml").is_file():
            problems.append(
                f"{SCHEME}{project.label} ({where}): {project.directory} has no pyproject.toml, "
                "so it is not a project to build (PATH is relative to the current directory)"
            )
    if problems:
        raise KrustError("\n".join(problems))
    return by_path


def push_problem(directory: Path, env: Mapping[str, str]) -> str | None:
    """Why building `directory` would not push, when that can be told without building.

    None when it will push or when it cannot be told (the build itself then reports
    config errors, and a build that prints no reference is caught afterwards).
    """
    if (directory / "hatch.toml").exists():
        return None  # hatchling may read the target's table from there
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    from hatch_krust.config import load_config

    try:
        data = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
        table = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        config = load_config(table.get("krust", {}), env=env)
    except (OSError, ValueError, AttributeError, KrustError):
        return None
    if config.push is False:
        return "pushing is turned off for it (`push = false` or KRUST_PUSH)"
    if config.repository is None:
        return "no repository is set"
    return None


class BuildFailed(KrustError):
    pass


_output_lock = threading.Lock()


def _stderr_line(text: str) -> None:
    with _output_lock:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()


def build_project(
    project: Project,
    env: Mapping[str, str],
    *,
    python: str = sys.executable,
    progress: Callable[[str], None] | None = _stderr_line,
) -> str:
    """Run `python -m hatchling build -t krust` in the project; return the pushed reference.

    Its stderr goes to `progress` a line at a time, prefixed with `[PATH] ` (parallel
    builds interleave); the last lines are quoted in the error when it fails.
    """
    process = subprocess.Popen(
        [python, "-m", "hatchling", "build", "-t", "krust"],
        cwd=project.directory,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    out_pipe, err_pipe = process.stdout, process.stderr
    assert out_pipe is not None
    assert err_pipe is not None
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.append(out_pipe.read()), daemon=True)
    reader.start()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    prefix = f"[{project.label}] "
    for line in err_pipe:
        tail.append(line.rstrip("\r\n"))
        if progress is not None:
            progress(prefix + line)
    status = process.wait()
    reader.join()
    output = "".join(stdout)
    if status != 0:
        last = "\n".join(f"  {line}" for line in tail) or "  (it printed nothing on stderr)"
        message = (
            f"{SCHEME}{project.label} ({', '.join(project.places)}): building "
            f"{project.directory} failed "
            f"(`python -m hatchling build -t krust` exited with status {status}); "
            f"its last lines:\n{last}"
        )
        raise BuildFailed(message)
    references = [line.strip() for line in output.splitlines() if _REFERENCE.match(line.strip())]
    if not references:
        message = (
            f"{SCHEME}{project.label}: {project.directory} was built but not pushed "
            "(the build printed no reference); set KRUST_REPO=<registry>/<prefix> "
            "so resolve can push"
        )
        raise KrustError(message)
    return references[-1]


def default_jobs() -> int:
    """Builds at once: the cores, at most 4 (a freeze keeps about one core busy)."""
    return max(1, min(4, os.cpu_count() or 1))


def build_all(
    projects: Sequence[Project],
    env: Mapping[str, str],
    *,
    jobs: int,
    python: str = sys.executable,
    progress: Callable[[str], None] | None = _stderr_line,
) -> dict[Path, str]:
    """Build each project (in a pool of `jobs`); the pushed reference of each directory.

    After a failure no new build starts; those running finish, then every failure is
    reported together, in the order of the projects.
    """
    results: dict[Path, str] = {}
    failures: dict[Path, str] = {}
    stop = threading.Event()  # set at the first failure: builds not yet started are skipped

    def one(project: Project) -> str | None:
        if stop.is_set():
            return None
        try:
            return build_project(project, env, python=python, progress=progress)
        except KrustError:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(projects) or 1))) as pool:
        futures: dict[Future[str | None], Project] = {pool.submit(one, p): p for p in projects}
        for future in as_completed(futures):
            project = futures[future]
            try:
                reference = future.result()
            except KrustError as exc:
                failures[project.directory] = str(exc)
                continue
            if reference is not None:
                results[project.directory] = reference
                if progress is not None:
                    progress(f"[{project.label}] -> {reference}\n")
    if failures:
        messages = [failures[p.directory] for p in projects if p.directory in failures]
        if len(messages) > 1:
            messages.insert(0, f"{len(messages)} builds failed:")
        raise KrustError("\n".join(messages))
    return results


# -- the commands ---------------------------------------------------------------------------


def resolve(
    sources: Sequence[str],
    *,
    recursive: bool = False,
    jobs: int | None = None,
    quiet: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    python: str = sys.executable,
    stdin: Callable[[], bytes] | None = None,
) -> str:
    """The YAML of `sources` with every `krust://PATH` replaced by its pushed reference.

    Everything is checked and built before anything is returned: on any error a
    KrustError, and no partial YAML.
    """
    env = dict(os.environ if env is None else env)
    cwd = Path.cwd() if cwd is None else cwd
    files = read_files(collect_files(sources, recursive=recursive, cwd=cwd), stdin, cwd)
    by_path = projects_of(files, cwd)
    projects = list({id(p): p for p in by_path.values()}.values())
    if projects:
        no_push = [(p, why) for p in projects if (why := push_problem(p.directory, env))]
        if no_push:
            lines = "\n".join(
                f"  {SCHEME}{p.label} ({', '.join(p.places)}): {why}" for p, why in no_push
            )
            message = (
                "set KRUST_REPO=<registry>/<prefix> so resolve can push; these projects "
                f"would be built but not pushed:\n{lines}"
            )
            raise KrustError(message)
        progress = None if quiet else _stderr_line
        if progress is not None:
            names = ", ".join(SCHEME + p.label for p in projects)
            progress(f"Building {len(projects)} project(s): {names}\n")
        built = build_all(
            projects, env, jobs=jobs or default_jobs(), python=python, progress=progress
        )
    else:
        built = {}
    images = {path: built[project.directory] for path, project in by_path.items()}
    return join_files([replace_references(f.text, f.occurrences, images) for f in files])


def kubectl_missing_message(sources: Sequence[str], recursive: bool) -> str:
    flags = " ".join(f"-f {shlex.quote(s)}" for s in sources) + (" -R" if recursive else "")
    return (
        "kubectl is not on PATH; run "
        f"`hatch-krust resolve {flags} | kubectl apply -f -` where kubectl is installed"
    )


def apply(
    sources: Sequence[str],
    kubectl_args: Sequence[str] = (),
    *,
    recursive: bool = False,
    jobs: int | None = None,
    quiet: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    python: str = sys.executable,
    stdin: Callable[[], bytes] | None = None,
) -> int:
    """Resolve, then `kubectl apply -f - KUBECTL_ARGS` with the YAML on its stdin.

    kubectl is looked for first, so nothing is built when it is missing. Returns
    kubectl's exit status; its output goes where ours does.
    """
    import shutil

    env = dict(os.environ if env is None else env)
    kubectl = shutil.which("kubectl", path=env.get("PATH", os.defpath))
    if kubectl is None:
        raise KrustError(kubectl_missing_message(sources, recursive))
    text = resolve(
        sources,
        recursive=recursive,
        jobs=jobs,
        quiet=quiet,
        env=env,
        cwd=cwd,
        python=python,
        stdin=stdin,
    )
    if not quiet:
        _stderr_line(f"Running kubectl apply -f - {shlex.join(kubectl_args)}".rstrip())
    done = subprocess.run(
        [kubectl, "apply", "-f", "-", *kubectl_args],
        input=text.encode("utf-8"),
        env=env,
        cwd=cwd,
        check=False,
    )
    return done.returncode
