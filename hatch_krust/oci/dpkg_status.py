"""dpkg's status records, read: one parser for every place that asks what dpkg installed
(the build host's libraries and zone database, a base image's Python)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["installed", "stanzas"]


def stanzas(text: str) -> Iterator[dict[str, str]]:
    """Each stanza's fields (a continuation line, as in `Description`, is not a field)."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        if fields:
            yield fields


def installed(fields: Mapping[str, str]) -> bool:
    """The stanza is of an installed package. The `status.d` files of distroless images
    have no `Status`: a package they list is installed. `not-installed` is not."""
    return "installed" in fields.get("Status", "install ok installed").split()
