"""What a base image's file system holds, read from its layers' tar listings.

The executable's layer adds `/tmp`, `/etc/passwd`, `/etc/group` and a CA bundle only when the
base lacks them, so we need the base's final tree: layers are applied bottom first and
whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what lower layers put there.
"""

from __future__ import annotations

import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout

__all__ = [
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_NAME",
    "BaseFiles",
    "LayerListing",
    "list_layer",
    "scan_layers",
]

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_KEEP = frozenset({"etc/passwd", "etc/group"})  # files whose content we read
_MAX_KEPT = 1 << 20
# Bounds on what a base's listings may hold: a few hundred bytes of gzip can name a path
# of 20,000 levels or tens of thousands of entries. Real bases stay far below.
MAX_DEPTH = 256  # path components
MAX_NAME = 4096  # characters of one path (Linux PATH_MAX)
MAX_ENTRIES = 500_000  # tar members over all layers of one base

Tree = dict[str, "Tree"]
"""A directory tree: each name maps to the tree below it (empty for a file)."""


@dataclass(frozen=True)
class BaseFiles:
    """A base's final tree (paths relative, no leading slash), and a few contents."""

    tree: Tree = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of_paths(cls, paths: Iterable[str]) -> BaseFiles:
        """A tree holding `paths` (relative, `/`-separated), their parents implied."""
        tree: Tree = {}
        for path in paths:
            node = tree
            for part in path.strip("/").split("/"):
                node = node.setdefault(part, {})
        return cls(tree)

    def has(self, path: str) -> bool:
        return _node(self.tree, path.strip("/")) is not None

    def content(self, path: str) -> bytes | None:
        return self.contents.get(path.strip("/"))

    @property
    def paths(self) -> frozenset[str]:
        """Every path of the tree (for tests and debugging)."""
        found: list[str] = []
        stack: list[tuple[str, Tree]] = [("", self.tree)]
        while stack:
            prefix, tree = stack.pop()
            for name, below in tree.items():
                found.append(prefix + name)
                stack.append((prefix + name + "/", below))
        return frozenset(found)


def scan_layers(layout: Layout, layers: Iterable[Descriptor]) -> BaseFiles:
    """Apply the layers' listings in order; foreign layers (not in the layout) are skipped.

    Linear in the entries: paths live in a tree, so a whiteout cuts one branch."""
    tree: Tree = {}
    contents: dict[str, bytes] = {}
    budget = MAX_ENTRIES
    for layer in layers:
        if not layout.has_blob(layer.digest) and layer.urls:
            continue
        listing = list_layer(layout, layer)
        budget -= listing.entries
        if budget < 0:
            message = (
                f"The base layer {layer.digest}: the base's layers hold more than "
                f"{MAX_ENTRIES} entries; refused"
            )
            raise ImageError(message)
        for gone in listing.removed:
            _cut(tree, gone, include_self=True)
        for directory in listing.opaque:
            _cut(tree, directory, include_self=False)
        for name in list(contents):
            if _node(tree, name) is None:
                del contents[name]
        for name in listing.added:
            _add(tree, name)
        contents.update(listing.read)
    return BaseFiles(tree, contents)


@dataclass
class LayerListing:
    """One layer's tar listing: what it adds, whites out (`removed`) and makes opaque, the
    contents of `etc/passwd`/`etc/group` (`read`), and for the names a caller `wanted` (see
    `list_layer`) a regular file's content or a link's target ("/"-rooted for a hard link)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    read: dict[str, bytes] = field(default_factory=dict)
    wanted: dict[str, bytes | str] = field(default_factory=dict)
    entries: int = 0


# Listings by (layout, layer digest): a multi-platform build reads each base layer once,
# for its Python (`layered.base_python`) and for its runtime files (`oci.assemble`).
_LISTINGS: dict[tuple[str, str], tuple[Callable[[str], bool] | None, LayerListing]] = {}
_LISTINGS_LOCK = threading.Lock()
_LISTINGS_KEPT = 128 << 20  # bytes, roughly, of the listings kept (see `_weight`)
WANTED_MAX = 64 << 20  # bytes of one wanted file


def list_layer(
    layout: Layout, layer: Descriptor, wanted: Callable[[str], bool] | None = None
) -> LayerListing:
    """`layer`'s listing, read once per process for the same `wanted` (or for any, when
    None): the layer is a content-addressed blob, so its listing never changes."""
    key = (str(layout.root), layer.digest)
    with _LISTINGS_LOCK:
        hit = _LISTINGS.get(key)
    if hit is not None and (wanted is None or hit[0] is wanted):
        return hit[1]
    listing = _scan_one(layout, layer, [MAX_ENTRIES], wanted)
    with _LISTINGS_LOCK:
        _LISTINGS.pop(key, None)
        _LISTINGS[key] = (wanted, listing)  # the newest last; the oldest go first
        while (
            len(_LISTINGS) > 1 and sum(_weight(e[1]) for e in _LISTINGS.values()) > _LISTINGS_KEPT
        ):
            del _LISTINGS[next(iter(_LISTINGS))]
    return listing


def _weight(listing: LayerListing) -> int:
    """About the memory a listing holds: its paths and the contents it kept."""
    kept = [*listing.read.values(), *listing.wanted.values()]
    return 100 * listing.entries + sum(len(v) for v in kept)


def _scan_one(
    layout: Layout,
    layer: Descriptor,
    budget: list[int],
    wanted: Callable[[str], bool] | None = None,
) -> LayerListing:
    """One layer's additions, whiteouts and kept contents; `budget` counts entries down."""
    listing = LayerListing()
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
                budget[0] -= 1
                _check_entry(layer, member.name, budget[0])
                _list_member(tar, member, listing, wanted)
    except tarfile.ReadError as exc:
        # Some writers (umoci 0.4 `insert`) end a layer without the final padding and
        # end-of-archive blocks; runtimes accept that, so the listing so far stands.
        if not (seen and "unexpected end of data" in str(exc)):
            raise _unreadable(layer, exc) from None
    except (OSError, EOFError, tarfile.TarError, ValueError, OverflowError) as exc:
        # ValueError: tarfile's own parsing of a bad number (a PAX `GNU.sparse.size=x`)
        raise _unreadable(layer, exc) from None
    listing.entries = seen
    return listing


def _list_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    listing: LayerListing,
    wanted: Callable[[str], bool] | None,
) -> None:
    name = _clean(member.name)
    if not name:
        return
    parent, base = name.rpartition("/")[::2]
    if base == _OPAQUE:
        listing.opaque.append(parent)
    elif base.startswith(_WHITEOUT):
        listing.removed.append(f"{parent}/{base[len(_WHITEOUT) :]}".lstrip("/"))
    else:
        listing.added.append(name)
        if wanted is not None and wanted(name):
            _keep_wanted(tar, member, name, listing.wanted)
        if name in _KEEP and member.isreg() and member.size <= _MAX_KEPT:
            source = tar.extractfile(member)
            listing.read[name] = source.read() if source is not None else b""


def _keep_wanted(
    tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, kept: dict[str, bytes | str]
) -> None:
    """The latest entry of a wanted name: a file's content or a link's target (other
    kinds, and files over WANTED_MAX, keep nothing)."""
    kept.pop(name, None)
    if member.issym():
        kept[name] = member.linkname
    elif member.islnk():
        kept[name] = "/" + _clean(member.linkname)
    elif member.isreg() and member.size <= WANTED_MAX:
        source = tar.extractfile(member)
        kept[name] = source.read() if source is not None else b""


def _check_entry(layer: Descriptor, name: str, budget: int) -> None:
    where = f"The base layer {layer.digest}"
    if budget < 0:
        message = f"{where}: the base's layers hold more than {MAX_ENTRIES} entries; refused"
        raise ImageError(message)
    if len(name) > MAX_NAME:
        message = f"{where} names a path longer than {MAX_NAME} characters; refused"
        raise ImageError(message)
    if name.count("/") >= MAX_DEPTH and len(_clean(name).split("/")) > MAX_DEPTH:
        message = f"{where} names a path more than {MAX_DEPTH} levels deep; refused"
        raise ImageError(message)


def _unreadable(layer: Descriptor, exc: Exception) -> ImageError:
    message = f"Cannot list the base layer {layer.digest} ({layer.media_type}): {exc}"
    return ImageError(message)


def _clean(name: str) -> str:
    parts = [p for p in PurePosixPath(name).parts if p not in ("/", ".")]
    return "/".join(parts)


def _node(tree: Tree, path: str) -> Tree | None:
    """The tree at `path`, or None when it is not there."""
    node: Tree | None = tree
    for part in path.split("/") if path else ():
        node = node.get(part) if node is not None else None
    return node


def _add(tree: Tree, path: str) -> None:
    node = tree
    for part in path.split("/"):
        node = node.setdefault(part, {})


def _cut(tree: Tree, path: str, *, include_self: bool) -> None:
    """Remove `path` and what is below it (`include_self`), or only what is below it."""
    if not include_self:
        node = _node(tree, path)
        if node is not None:
            node.clear()
        return
    parent_path, _, name = path.rpartition("/")
    parent = _node(tree, parent_path)
    if parent is not None:
        parent.pop(name, None)
