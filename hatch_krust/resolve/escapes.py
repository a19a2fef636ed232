"""The value of a double-quoted YAML scalar: its backslash escapes."""

from __future__ import annotations

import sys

__all__ = ["unescape"]

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


def unescape(raw: str) -> str:
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
