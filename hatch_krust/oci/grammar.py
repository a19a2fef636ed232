"""The grammar of the strings an image config and a tag may hold, in one place.

Match them with `fullmatch`: `$` also matches before a final newline (`latest\n`).
The configuration checks a user's values against these (to name the field at fault)
and the assembler checks them again (it is also called directly); both read them here.
"""

from __future__ import annotations

import re

__all__ = ["ENV_NAME", "PORT", "TAG", "USER", "port_in_range"]

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
"""A tag: letters, digits, `_`, `.`, `-`; at most 128, not starting with `.` or `-`."""

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""An environment variable name, as a shell would accept it."""

PORT = re.compile(r"^[0-9]{1,5}(/(tcp|udp|sctp))?$")
"""An exposed port: `8080` or `8080/tcp` (udp, sctp); see `port_in_range`."""

USER = re.compile(r"^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$")
"""`USER` or `USER:GROUP`, names or ids."""


def port_in_range(text: str) -> bool:
    """True for a whole PORT whose number is 1 to 65535."""
    return PORT.fullmatch(text) is not None and 1 <= int(text.partition("/")[0]) <= 65535
