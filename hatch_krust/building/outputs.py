"""The local outputs in `dist/krust/`: each installed whole (a temporary name in the
target's directory, then a rename), so a reader never sees a half-written file.

`<stem>.ref` names the push of the build beside it: it is removed before anything is
pushed and written only after the push and the attachments succeeded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.atomic import install_atomically, write_atomically
from hatch_krust.building.record import record_bytes

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.building.built import BuiltImage

__all__ = [
    "DOCUMENT_SUFFIXES",
    "Installed",
    "install_outputs",
    "remove_stale_documents",
    "remove_stale_executable",
    "remove_stale_ref",
    "write_record",
    "write_ref",
]


# every document a build may write, as `<stem><suffix>` (attest.documents names them;
# test_every_document_a_build_writes_is_known_to_the_stale_check keeps the two in step)
DOCUMENT_SUFFIXES = (".cdx.json", ".spdx.json", ".provenance.json")


@dataclass(frozen=True)
class Installed:
    """Where the outputs of a build are now."""

    files: tuple[Path, ...]  # what the format installs (the static executable, or none)
    archive: Path
    record: Path
    documents: tuple[Path, ...]


def install_outputs(image: BuiltImage, out_dir: Path) -> Installed:
    """The format's files (the executable, or none), the archive, the build record and
    the documents, into `out_dir` (silently: the caller reports the build once)."""
    remove_stale_executable(out_dir, image.stem, image.installs)
    files = tuple(install_atomically(path, out_dir / path.name, 0o755) for path in image.installs)
    archive = out_dir / image.archive.name
    install_atomically(image.archive, archive, 0o644)
    record = write_record(image.record, out_dir / f"{image.stem}.build.json")
    documents = tuple(
        write_atomically(doc.data, out_dir / doc.filename) for doc in image.documents
    )
    remove_stale_documents(out_dir, image.stem, documents)
    return Installed(files, archive, record, documents)


def remove_stale_documents(out_dir: Path, stem: str, written: tuple[Path, ...]) -> None:
    """The outputs of a build are exactly that build's: an SBOM of the other format (or
    any SBOM once `sbom = false`) left by an earlier build of the same stem goes."""
    for suffix in DOCUMENT_SUFFIXES:
        path = out_dir / f"{stem}{suffix}"
        if path not in written:
            path.unlink(missing_ok=True)


def remove_stale_executable(out_dir: Path, stem: str, installs: tuple[Path, ...]) -> None:
    """Switching from `static` to `layered` must not leave the earlier build's executable
    beside the new outputs: the record of that build names it. A `krust:binary` output
    (no record of its own) stays."""
    try:
        earlier = json.loads((out_dir / f"{stem}.build.json").read_text())["executable"]
        name = str(earlier["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    if Path(name).name == name and name not in {path.name for path in installs}:
        (out_dir / name).unlink(missing_ok=True)


def remove_stale_ref(out_dir: Path, stem: str) -> None:
    """A `.ref` from an earlier build (pushed before, local now, or a push that fails
    next) must not outlive that build."""
    (out_dir / f"{stem}.ref").unlink(missing_ok=True)


def write_record(record: Mapping[str, Any], target: Path) -> Path:
    return write_atomically(record_bytes(record), target)


def write_ref(out_dir: Path, stem: str, reference: str) -> Path:
    return write_atomically(f"{reference}\n".encode(), out_dir / f"{stem}.ref")
