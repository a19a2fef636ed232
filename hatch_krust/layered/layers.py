"""Each layer of a layered image, planned, keyed by its own inputs, and built at most once.

A plan is the list of files a layer will hold (at image paths) plus the directories whose
bytecode it gets. Its key hashes exactly what decides the layer's bytes: every path, mode,
link target and file content, the Python that compiles the bytecode, the epoch, and this
module's format version. So a change to the project's code changes the project layer's
key only, and the lower layers come from the cache unchanged: same bytes, same digests,
nothing to push. Cached layers are digest-checked before they are used again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.layered.bytecode import compile_entries, compile_shared
from hatch_krust.leftovers import BUILD_PREFIX, in_use, remove_stale
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.layer import Layer, write_layer
from hatch_krust.oci.mediatypes import OCI_LAYER_GZIP

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.oci.layer import Entry

__all__ = ["FORMAT_VERSION", "BuiltLayer", "LayerPlan", "build_layer", "shared_bytecode"]

# Bump when the way a plan becomes bytes changes (tar normalisation, bytecode flags).
FORMAT_VERSION = "1"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerPlan:
    """What one layer holds; `compiler` (a Python) compiles `bytecode` directories' `.py`."""

    name: str
    entries: tuple[Entry, ...]
    bytecode: tuple[str, ...] = ()
    compiler: Path | None = None
    compiler_version: str = ""

    def key(self, epoch: int) -> str:
        """sha256 of everything that decides the layer's bytes."""
        digest = hashlib.sha256()
        head = [FORMAT_VERSION, self.name, epoch, sorted(self.bytecode), self.compiler_version]
        digest.update(json.dumps(head).encode())
        for entry in sorted(self.entries, key=lambda e: e.parts):
            digest.update(json.dumps([entry.path, entry.mode, entry.uid, entry.gid]).encode())
            digest.update(_content_digest(entry).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class BuiltLayer:
    """A plan's layer, and whether it came from the cache."""

    name: str
    key: str
    layer: Layer
    cached: bool


def build_layer(
    plan: LayerPlan,
    cache: Path,
    *,
    epoch: int = 0,
    media_type: str = OCI_LAYER_GZIP,
    bytecode: Sequence[Entry] | None = None,
    key: str | None = None,
) -> BuiltLayer:
    """The layer for `plan`: from `cache` when its key is there, else built and stored.
    `bytecode`: its bytecode entries compiled already (`shared_bytecode`); `key`: its key
    when the caller has it (hashing every file again costs time)."""
    key = key or plan.key(epoch)
    entry_dir = cache / key
    hit = _cached(entry_dir, media_type)
    if hit is not None:
        return BuiltLayer(plan.name, key, hit, cached=True)
    cache.mkdir(parents=True, exist_ok=True)
    remove_stale(cache, (f"{BUILD_PREFIX}*",))
    with tempfile.TemporaryDirectory(prefix=BUILD_PREFIX, dir=cache) as tmp, in_use(Path(tmp)):
        work = Path(tmp)
        entries = list(plan.entries)
        if bytecode is not None:
            entries += bytecode
        elif plan.bytecode and plan.compiler is not None:
            entries += compile_entries(entries, plan.bytecode, plan.compiler, work)
        staged = work / "entry"
        staged.mkdir()
        layer = write_layer(entries, staged / "layer.tar.gz", epoch=epoch, media_type=media_type)
        facts = {"digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id}
        (staged / "layer.json").write_text(json.dumps(facts), "utf-8")
        final = _publish(staged, entry_dir, media_type, work)
    return BuiltLayer(plan.name, key, final, cached=False)


def shared_bytecode(
    plans: Sequence[LayerPlan], keys: Sequence[str], cache: Path, work: Path, media_type: str
) -> list[tuple[Entry, ...] | None]:
    """Each plan's bytecode entries (None: none to compile, or its key is in `cache`),
    compiled in `work` by one run of each compiler with a file several plans hold
    compiled once (`compile_shared`): the platforms of one image share most `.py` files."""
    by_compiler: dict[Path, list[int]] = {}
    for n, (plan, key) in enumerate(zip(plans, keys, strict=True)):
        wanted = plan.bytecode and plan.compiler is not None
        if wanted and _cached(cache / key, media_type) is None:
            assert plan.compiler is not None
            by_compiler.setdefault(plan.compiler, []).append(n)
    found: list[tuple[Entry, ...] | None] = [None] * len(plans)
    for m, (compiler, members) in enumerate(sorted(by_compiler.items())):
        groups = [(plans[n].entries, plans[n].bytecode) for n in members]
        compiled = compile_shared(groups, compiler, work / str(m))
        for n, entries in zip(members, compiled, strict=True):
            found[n] = tuple(entries)
    return found


def _publish(staged: Path, entry_dir: Path, media_type: str, work: Path) -> Layer:
    """Rename `staged` into place as one step, removing nobody's entry while it is read.

    When a concurrent build published the key first, its entry (same bytes) is used; a
    damaged entry is renamed aside into `work` (removed with it) before ours goes in."""
    for _ in range(3):
        try:
            staged.rename(entry_dir)
        except OSError:  # the entry exists: someone else's, or a damaged one
            existing = _cached(entry_dir, media_type)
            if existing is not None:
                return existing
            with contextlib.suppress(FileNotFoundError):
                entry_dir.rename(work / "damaged")
                shutil.rmtree(work / "damaged", ignore_errors=True)
            continue
        published = _cached(entry_dir, media_type)
        if published is not None:
            return published
    message = f"Cannot store the layer in the cache entry {entry_dir}"
    raise OSError(message)


def _cached(entry_dir: Path, media_type: str) -> Layer | None:
    """A cached layer whose file still has the size and digest recorded for it."""
    try:
        facts = json.loads((entry_dir / "layer.json").read_text("utf-8"))
        path = entry_dir / "layer.tar.gz"
        if path.stat().st_size != facts["size"] or sha256_file(path) != facts["digest"]:
            return None
        return Layer(path, facts["digest"], facts["size"], facts["diff_id"], media_type)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _content_digest(entry: Entry) -> str:
    if entry.link is not None:
        return "link:" + entry.link
    if entry.data is not None:
        return "sha256:" + hashlib.sha256(entry.data).hexdigest()
    if entry.source is not None:
        return sha256_file(entry.source)
    return "dir"
