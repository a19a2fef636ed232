"""`extra-files`: files of the project that are not in its wheel, placed in the image.

ko has `kodata/`, jib `extraDirectories`. The option is a table, image path -> project
path (a file or a directory, relative to the project root). The files go in a layer of
their own in both formats: owned by root, modes normalised (0755 for directories and
executable files, 0644 for the rest, so the run-as user reads them and cannot change
them), timestamps at the build's epoch like every layer. The SBOM lists them as files of
the project.

Checks, each naming the option: the project path must stay inside the project (no `..`,
no link out of it) and exist; the image path must be absolute and must not write over
the program or the interpreter (`/app`, `/opt/python`, `/opt/krust`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ConfigError
from hatch_krust.oci.layer import Entry, dir_entry, file_entry

if TYPE_CHECKING:
    from hatch_krust.config import KrustConfig
    from hatch_krust.formats import Packaged
    from hatch_krust.inputs import BuildInputs

__all__ = ["PROTECTED", "extra_entries", "record_in_bundle", "root_options"]

# The program (static: /app/<script>; layered: the /app venv), the layered interpreter and
# its launcher.
PROTECTED = ("/app", "/opt/python", "/opt/krust")
_CHUNK = 1 << 20


def _image_path(raw: str, where: str) -> str:
    path = PurePosixPath(raw)
    if not path.is_absolute() or ".." in path.parts or str(path) == "/":
        message = f"{where} has an image path {raw!r} that is not an absolute path below `/`"
        raise ConfigError(message)
    for protected in PROTECTED:
        if path == PurePosixPath(protected) or path.is_relative_to(protected):
            message = (
                f"{where} would write {raw!r} over the program or the interpreter "
                f"(`{protected}`); choose another image path"
            )
            raise ConfigError(message)
    return str(path)


def _source(root: Path, raw: str, where: str) -> Path:
    real_root = root.resolve()
    source = (root / raw).resolve()
    if PurePosixPath(raw).is_absolute() or not source.is_relative_to(real_root):
        message = (
            f"{where} names {raw!r}, which is outside the project; give a path relative to "
            f"the project root {root}"
        )
        raise ConfigError(message)
    if not source.exists():
        message = f"{where} names {raw!r}, which does not exist under the project root {root}"
        raise ConfigError(message)
    return source


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644


def _tree(source: Path, image: str, root: Path, where: str) -> list[Entry]:
    entries = [dir_entry(image, 0o755)]
    for current, dirs, files in os.walk(source):
        dirs.sort()
        base = Path(current)
        for name in sorted(dirs):
            relative = (base / name).relative_to(source).as_posix()
            entries.append(dir_entry(f"{image}/{relative}", 0o755))
        for name in sorted(files):
            path = base / name
            relative = path.relative_to(source).as_posix()
            real = _source(root, str(path.relative_to(root)), where)
            if real.is_file():
                entries.append(file_entry(f"{image}/{relative}", real, _mode(real)))
    return entries


def extra_entries(config: KrustConfig, root: Path) -> tuple[Entry, ...]:
    """The layer entries of the `extra-files` option, checked, sorted by image path."""
    where = config.origin("extra-files")
    entries: list[Entry] = []
    for raw_image, raw_source in config.extra_files:
        image = _image_path(raw_image, where)
        source = _source(root, raw_source, where)
        if source.is_dir():
            entries += _tree(source, image, root.resolve(), where)
        else:
            entries.append(file_entry(image, source, _mode(source)))
    seen: dict[str, None] = {}
    for entry in entries:
        if entry.path in seen and not entry.is_dir:
            message = f"{where} puts two files at {entry.path}; give each image path once"
            raise ConfigError(message)
        seen[entry.path] = None
    return tuple(sorted(entries, key=lambda e: e.path))


def _digests(path: Path) -> dict[str, str]:
    """sha256 and sha1 (SPDX's package verification code needs it) of a file."""
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
    return {"sha256": sha256.hexdigest(), "sha1": sha1.hexdigest()}


def record_in_bundle(
    bundle: dict[str, Any], project: tuple[str, str], entries: tuple[Entry, ...]
) -> None:
    """List the extra files among the files of the project ((name, version)) in the bundle
    (for the SBOM)."""
    from hatch_krust.attest.facts import normalise_name

    files = [{"path": e.path, **_digests(e.source)} for e in entries if e.source is not None]
    if not files:
        return
    distributions = bundle.setdefault("distributions", [])
    for dist in distributions:
        if normalise_name(str(dist.get("name", ""))) == normalise_name(project[0]):
            dist["files"] = sorted([*dist.get("files", []), *files], key=lambda f: f["path"])
            return
    distributions.append({"name": project[0], "version": project[1], "files": files})


def has_tzdata(bundle: dict[str, Any]) -> bool:
    """The program's environment has the `tzdata` distribution: zoneinfo reads it."""
    return any(str(d.get("name", "")).lower() == "tzdata" for d in bundle.get("distributions", []))


def root_options(inputs: BuildInputs, packaged: Packaged) -> tuple[Packaged, dict[str, Any]]:
    """ImageOptions fields for what the image gets beyond the program: the extra files
    (listed in the returned value's bundles as the project's: every platform's image holds
    them), the zone database unless `tzdata` is there, and a list to hear what assembling
    shipped (`with_shipped`)."""
    from dataclasses import replace

    config = inputs.config
    extra = extra_entries(config, inputs.root)
    project = (inputs.dist_name, inputs.version)
    main = _with_extra(packaged, project, extra)
    others = tuple((name, _with_extra(own, project, extra)) for name, own in packaged.platforms)
    shipped: list[dict[str, Any]] = []
    options = {
        "extra_files": extra,
        "locale": True,
        "zoneinfo": config.zoneinfo and not has_tzdata(main.bundle.facts()),
        "shipped": shipped,
    }
    return replace(main, platforms=others), options


def _with_extra(
    packaged: Packaged, project: tuple[str, str], entries: tuple[Entry, ...]
) -> Packaged:
    """`packaged` with the extra files among its bundle's project files."""
    from dataclasses import replace

    from hatch_krust.formats import Bundle

    facts = packaged.bundle.facts()
    record_in_bundle(facts, project, entries)
    return replace(packaged, bundle=Bundle.of(facts, packed=packaged.bundle.packed))


def with_shipped(packaged: Packaged, shipped: list[dict[str, Any]] | None) -> Packaged:
    """The bundles completed with what assembling added (the zone database), for the SBOM:
    each platform's with what its own image got (`platform` of each entry; the first
    platform's are the ones no further platform claims)."""
    from dataclasses import replace

    if not shipped:
        return packaged
    others = dict(packaged.platforms)

    def add(own: Packaged, mine: list[dict[str, Any]]) -> Packaged:
        entries = [{k: v for k, v in e.items() if k != "platform"} for e in mine]
        return replace(own, bundle=replace(own.bundle, native=(*own.bundle.native, *entries)))

    main = add(packaged, [e for e in shipped if e.get("platform") not in others])
    rest = tuple(
        (name, add(own, [e for e in shipped if e.get("platform") == name]))
        for name, own in packaged.platforms
    )
    return replace(main, platforms=rest)
