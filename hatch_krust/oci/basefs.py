"""What a base image's file system holds, read from its layers' tar listings.

The executable's layer adds `/tmp`, `/etc/passwd`, `/etc/group` and a CA bundle only when the
base lacks them, so we need the base's final tree: layers are applied bottom first and
whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what lower layers put there.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout

__all__ = ["BaseFiles", "scan_layers"]

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_KEEP = frozenset({"etc/passwd", "etc/group"})  # files whose content we read
_MAX_KEPT = 1 << 20


@dataclass(frozen=True)
class BaseFiles:
    """The paths (relative, no leading slash) of a base's final tree, and a few contents."""

    paths: frozenset[str] = frozenset()
    contents: dict[str, bytes] = field(default_factory=dict)

    def has(self, path: str) -> bool:
        return path.strip("/") in self.paths

    def content(self, path: str) -> bytes | None:
        return self.contents.get(path.strip("/"))


def scan_layers(layout: Layout, layers: Iterable[Descriptor]) -> BaseFiles:
    """Apply the layers' listings in order; foreign layers (not in the layout) are skipped."""
    paths: set[str] = set()
    contents: dict[str, bytes] = {}
    for layer in layers:
        if not layout.has_blob(layer.digest) and layer.urls:
            continue
        added, removed, opaque, read = _scan_one(layout, layer)
        for gone in removed:
            _remove_tree(paths, gone, include_self=True)
        for directory in opaque:
            _remove_tree(paths, directory, include_self=False)
        for name in list(contents):
            if name not in paths:
                del contents[name]
        paths |= added
        contents.update(read)
    return BaseFiles(frozenset(paths), contents)


def _scan_one(
    layout: Layout, layer: Descriptor
) -> tuple[set[str], set[str], set[str], dict[str, bytes]]:
    added: set[str] = set()
    removed: set[str] = set()
    opaque: set[str] = set()
    read: dict[str, bytes] = {}
    if layer.media_type.endswith("+zstd"):
        message = (
            f"The base layer {layer.digest} is zstd-compressed; only gzip and plain tar are read"
        )
        raise ImageError(message)
    seen = 0
    try:
        with layout.open_blob(layer.digest) as blob, tarfile.open(fileobj=blob, mode="r|*") as tar:
            for member in tar:
                seen += 1
                name = _clean(member.name)
                if not name:
                    continue
                parent, base = name.rpartition("/")[::2]
                if base == _OPAQUE:
                    opaque.add(parent)
                elif base.startswith(_WHITEOUT):
                    removed.add(f"{parent}/{base[len(_WHITEOUT) :]}".lstrip("/"))
                else:
                    added.add(name)
                    added.update(_parents(name))
                    if name in _KEEP and member.isreg() and member.size <= _MAX_KEPT:
                        source = tar.extractfile(member)
                        read[name] = source.read() if source is not None else b""
    except tarfile.ReadError as exc:
        # Some writers (umoci 0.4 `insert`) end a layer without the final padding and
        # end-of-archive blocks; runtimes accept that, so the listing so far stands.
        if not (seen and "unexpected end of data" in str(exc)):
            raise _unreadable(layer, exc) from None
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise _unreadable(layer, exc) from None
    return added, removed, opaque, read


def _unreadable(layer: Descriptor, exc: Exception) -> ImageError:
    message = f"Cannot list the base layer {layer.digest} ({layer.media_type}): {exc}"
    return ImageError(message)


def _clean(name: str) -> str:
    parts = [p for p in PurePosixPath(name).parts if p not in ("/", ".")]
    return "/".join(parts)


def _parents(name: str) -> list[str]:
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _remove_tree(paths: set[str], root: str, *, include_self: bool) -> None:
    prefix = f"{root}/" if root else ""
    doomed = {p for p in paths if p.startswith(prefix)}
    if include_self:
        doomed.add(root)
    paths -= doomed
