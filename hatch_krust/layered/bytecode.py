"""Pre-compiled bytecode for a layer: nothing is compiled (or written) when the image starts.

Without `.pyc` files a copied interpreter took 0.25 s to start a small program instead of
0.07 s, and on a read-only root it would pay that at every start. The `.pyc` files are
`unchecked-hash` ones: their header holds a hash of the source instead of its mtime, and
the interpreter does not even check it, so they are valid whatever mtime the layer gives
the sources, and the same source always gives the same bytes. `co_filename` is the path
in the image (`compileall`'s `ddir`), so tracebacks name the files the user can open.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from hatch_krust.errors import ImageError
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.layer import Entry, file_entry
from hatch_krust.python import ToolFailed, run_tool, tail

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = ["compile_entries", "compile_shared"]

_COMPILE = """
import compileall, json, py_compile, sys
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for stage, image in json.loads(sys.argv[1]):
    compileall.compile_dir(stage, ddir=image, quiet=2, invalidation_mode=mode, workers=0)
"""


def compile_entries(
    entries: Iterable[Entry], directories: Iterable[str], python: Path, work: Path
) -> list[Entry]:
    """Bytecode entries for the `.py` files among `entries` under `directories`.

    `python` must be the image's Python version (it runs here, on the build host). Files
    that do not compile (Python 2 leftovers in some sdists) get no bytecode, as with pip.
    """
    stage = work / "bytecode"
    roots = sorted(PurePosixPath(d) for d in directories)
    jobs: dict[str, str] = {}
    for entry in entries:
        image = PurePosixPath(entry.path)
        root = next((r for r in roots if image.is_relative_to(r)), None)
        if root is None or image.suffix != ".py" or entry.link is not None:
            continue
        target = stage / image.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.source is not None:
            shutil.copyfile(entry.source, target)
        else:
            target.write_bytes(entry.data or b"")
        jobs[str(stage / root.relative_to("/"))] = str(root)
    if not jobs:
        return []
    _run(python, sorted(jobs.items()))
    return [
        file_entry("/" + str(pyc.relative_to(stage)), pyc, 0o644)
        for pyc in sorted(stage.rglob("__pycache__/*.pyc"))
    ]


def compile_shared(
    groups: Sequence[tuple[Iterable[Entry], Iterable[str]]], python: Path, work: Path
) -> list[list[Entry]]:
    """`compile_entries` for each (entries, directories) group, in one compiler run, and a
    `.py` file an earlier group holds at the same image path with the same content compiled
    once: a package's pure-Python files are the same for every platform, and bytecode does
    not depend on the architecture (the `.pyc` has the same bytes either way)."""
    owners: dict[tuple[str, str], Path] = {}  # (image path, content) -> the stage holding it
    jobs: dict[str, str] = {}
    sources: list[list[tuple[PurePosixPath, Path]]] = []
    for n, (entries, directories) in enumerate(groups):
        stage = work / f"bytecode-{n}"
        mine = []
        for entry, image, root in _python_files(entries, directories):
            owner = owners.setdefault((str(image), _content(entry)), stage)
            if owner == stage:
                _stage(entry, stage / image.relative_to("/"))
                jobs[str(stage / root.relative_to("/"))] = str(root)
            mine.append((image, owner))
        sources.append(mine)
    if jobs:
        _run(python, sorted(jobs.items()))
    return [[e for image, owner in mine for e in _compiled(image, owner)] for mine in sources]


def _python_files(
    entries: Iterable[Entry], directories: Iterable[str]
) -> Iterator[tuple[Entry, PurePosixPath, PurePosixPath]]:
    """(entry, image path, its bytecode directory) of each `.py` file to compile."""
    roots = sorted(PurePosixPath(d) for d in directories)
    for entry in entries:
        image = PurePosixPath(entry.path)
        root = next((r for r in roots if image.is_relative_to(r)), None)
        if root is not None and image.suffix == ".py" and entry.link is None:
            yield entry, image, root


def _content(entry: Entry) -> str:
    if entry.source is not None:
        return sha256_file(entry.source)
    return "sha256:" + hashlib.sha256(entry.data or b"").hexdigest()


def _stage(entry: Entry, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.source is not None:
        shutil.copyfile(entry.source, target)
    else:
        target.write_bytes(entry.data or b"")


def _compiled(image: PurePosixPath, stage: Path) -> list[Entry]:
    """The bytecode entries of the source at `image` compiled in `stage`
    (`__pycache__/NAME.TAG.pyc`; none when it did not compile)."""
    cache = stage / image.parent.relative_to("/") / "__pycache__"
    prefix = image.stem + "."
    found = []
    for pyc in sorted(cache.iterdir()) if cache.is_dir() else ():
        tag = pyc.name[len(prefix) : -len(".pyc")]
        if pyc.name.startswith(prefix) and pyc.name.endswith(".pyc") and tag and "." not in tag:
            found.append(file_entry("/" + str(pyc.relative_to(stage)), pyc, 0o644))
    return found


def _run(python: Path, jobs: list[tuple[str, str]]) -> None:
    # The compile needs nothing from the environment: `-I` ignores PYTHON* variables and
    # `python` is an absolute path. An empty one keeps the build's settings out of the bytecode.
    env = {"PYTHONHASHSEED": "0"}
    try:
        run_tool([str(python), "-I", "-c", _COMPILE, json.dumps(jobs)], env=env)
    except ToolFailed as exc:
        message = f"Pre-compiling bytecode with {python} failed:\n{tail(exc.output)}"
        raise ImageError(message) from None
