"""Finding `krust://PATH` references in Kubernetes YAML text, and replacing them.

The replacement is done on the text, not by re-serialising YAML, so comments, order,
quoting and document separators stay byte-for-byte as they were. A small scanner finds
scalars the way YAML does: it knows comments, quoted and plain scalars (also spanning
lines), block scalars (`|`, `>`) and flow collections (`[…]`, `{…}`). Only whole scalar
*values* are references: a mapping key, a comment, text inside a block scalar and a
longer string that merely contains `krust://` are left alone.

Strings in, strings out: nothing here reads a file or runs a build.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hatch_krust.errors import KrustError
from hatch_krust.resolve.escapes import unescape

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["SCHEME", "Occurrence", "find_references", "join_files", "replace_references"]

SCHEME = "krust://"
_SPACE = " \t\r"
_FLOW = ",[]{}"


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
    line_of = scanner.line_of
    bad = [
        f"{name}:{line_of(start)}: a `krust://` value must be one scalar on one line"
        if multiline
        else f"{name}:{line_of(start)}: {text[start:end]!r} is not `krust://PATH` "
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
        self._newlines: list[int] | None = None
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
        self.found.append(Occurrence(path, start, end, self.line_of(start)))

    def line_of(self, offset: int) -> int:
        """The 1-based line of `offset`, by bisecting the newlines (found once): counting
        from the start for each reference made the scan quadratic."""
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.t)]
        return bisect.bisect_left(self._newlines, offset) + 1

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
            value = unescape(raw)
        return start, end, value, multiline, min(end + 1, n)


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
