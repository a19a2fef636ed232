"""The image model: config, manifest and index as small immutable values.

Each value turns into canonical JSON (`to_json` + `canonical_json`), so the same inputs always
give the same digest. Reading goes the other way: a layout entry (an index or a manifest, OCI
or Docker) is resolved to the manifest and config of one platform.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from hatch_krust.errors import ImageError
from hatch_krust.oci.descriptor import Descriptor, Platform, descriptor_list
from hatch_krust.oci.layout import MAX_DEPTH
from hatch_krust.oci.mediatypes import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hatch_krust.oci.layout import Layout

__all__ = [
    "ImageConfig",
    "Index",
    "Manifest",
    "MediaTypes",
    "ResolvedImage",
    "RunConfig",
    "check_config_shape",
    "created_timestamp",
    "load_image",
    "platforms_of",
    "write_config",
    "write_index",
    "write_manifest",
]

# Fields of the image config's `config` object that RunConfig models; the rest is kept as is.
_MODELLED = ("Entrypoint", "Cmd", "Env", "User", "WorkingDir", "Labels", "ExposedPorts")


@dataclass(frozen=True)
class MediaTypes:
    """The family of media types an image uses: OCI, or Docker schema 2 to follow a Docker base."""

    index: str
    manifest: str
    config: str
    layer: str

    @classmethod
    def for_manifest(cls, manifest_media_type: str) -> MediaTypes:
        return DOCKER_TYPES if manifest_media_type == DOCKER_MANIFEST else OCI_TYPES


OCI_TYPES = MediaTypes(OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP)
DOCKER_TYPES = MediaTypes(DOCKER_LIST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER_GZIP)


def created_timestamp(epoch: int | None) -> str:
    """RFC 3339 UTC time of `epoch` (SOURCE_DATE_EPOCH); None gives the Unix epoch."""
    moment = datetime.datetime.fromtimestamp(epoch or 0, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RunConfig:
    """The image config's `config` object: how the container runs."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    user: str = ""
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    other: Mapping[str, Any] = field(default_factory=dict)  # StopSignal, Volumes, … from a base

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.other)
        if self.entrypoint:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.env:
            out["Env"] = list(self.env)
        if self.user:
            out["User"] = self.user
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RunConfig:
        data = data or {}
        cmd = data.get("Cmd")
        return cls(
            entrypoint=tuple(str(a) for a in data.get("Entrypoint") or ()),
            cmd=None if cmd is None else tuple(str(a) for a in cmd),
            env=tuple(str(e) for e in data.get("Env") or ()),
            user=str(data.get("User") or ""),
            working_dir=str(data.get("WorkingDir") or ""),
            labels={str(k): str(v) for k, v in (data.get("Labels") or {}).items()},
            exposed_ports=tuple(sorted(str(p) for p in data.get("ExposedPorts") or {})),
            other={k: v for k, v in data.items() if k not in _MODELLED and v is not None},
        )


@dataclass(frozen=True)
class ImageConfig:
    """The OCI image config (also valid as a Docker image config)."""

    platform: Platform
    config: RunConfig
    diff_ids: tuple[str, ...]
    history: tuple[Mapping[str, Any], ...] = ()
    created: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.platform.to_json(),
            "config": self.config.to_json(),
            "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)},
        }
        if self.history:
            out["history"] = [dict(h) for h in self.history]
        if self.created:
            out["created"] = self.created
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "the image") -> ImageConfig:
        """Parse an untrusted config; ImageError naming `where` for any field of the wrong
        type (fields hatch-krust does not model are kept as they are)."""
        check_config_shape(data, where)
        rootfs = data.get("rootfs") or {}
        return cls(
            platform=Platform.from_json(dict(data)),
            config=RunConfig.from_json(data.get("config")),
            diff_ids=tuple(rootfs.get("diff_ids") or ()),
            history=tuple(dict(h) for h in data.get("history") or ()),
            created=str(data.get("created") or ""),
        )


_TOP_SHAPE: dict[str, type] = {
    "os": str, "architecture": str, "variant": str, "os.version": str, "created": str,
    "rootfs": dict, "history": list, "config": dict,
}  # fmt: skip
_RUN_SHAPE: dict[str, type] = {
    "Entrypoint": list, "Cmd": list, "Env": list, "User": str, "WorkingDir": str,
    "Labels": dict, "ExposedPorts": dict,
}  # fmt: skip


def check_config_shape(data: Mapping[str, Any], where: str) -> None:
    """ImageError unless every field the build reads has its documented JSON type."""
    run = data.get("config") or {}
    rootfs = data.get("rootfs") or {}
    fields = [(k, data.get(k), t) for k, t in _TOP_SHAPE.items()]
    if isinstance(run, dict):
        fields += [(f"config.{k}", run.get(k), t) for k, t in _RUN_SHAPE.items()]
    if isinstance(rootfs, dict):
        fields.append(("rootfs.diff_ids", rootfs.get("diff_ids"), list))
    for name, value, kind in fields:
        if value is not None and not isinstance(value, kind):
            _bad_config(where, f"`{name}` is {type(value).__name__}, not {_JSON[kind]}")
        if isinstance(value, list) and name != "history" and not _all(value, str):
            _bad_config(where, f"`{name}` is not a list of strings")
    if not _all(data.get("history") or [], dict):
        _bad_config(where, "`history` is not a list of objects")
    if isinstance(run, dict) and not _all((run.get("Labels") or {}).values(), str):
        _bad_config(where, "`config.Labels` is not an object of strings")


_JSON: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}


def _all(values: Iterable[Any], kind: type) -> bool:
    return all(isinstance(v, kind) for v in values)


def _bad_config(where: str, problem: str) -> NoReturn:
    message = f"The config of {where} is malformed: {problem}"
    raise ImageError(message)


@dataclass(frozen=True)
class Manifest:
    """An image manifest: one config and its layers, bottom first."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_json(),
            "layers": [layer.to_json() for layer in self.layers],
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], media_type: str = "") -> Manifest:
        if not isinstance(data.get("config"), dict):
            message = "Malformed image manifest: it has no `config` object"
            raise ImageError(message)
        if not isinstance(data.get("annotations") or {}, dict):
            message = "Malformed image manifest: its `annotations` are not an object"
            raise ImageError(message)
        try:
            return cls(
                media_type=str(data.get("mediaType") or media_type),
                config=Descriptor.from_json(data["config"]),
                layers=tuple(descriptor_list(dict(data), "layers", "The image manifest")),
                annotations={str(k): str(v) for k, v in (data.get("annotations") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            message = f"Malformed image manifest: {exc}"
            raise ImageError(message) from None


@dataclass(frozen=True)
class Index:
    """An image index: one manifest per platform."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [m.to_json() for m in self.manifests],
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def write_config(layout: Layout, config: ImageConfig, media_type: str) -> Descriptor:
    digest, size = layout.write_json(config.to_json())
    return Descriptor(media_type, digest, size)


def write_manifest(layout: Layout, manifest: Manifest, platform: Platform) -> Descriptor:
    """Store the manifest; the descriptor carries `platform`, ready for an index."""
    digest, size = layout.write_json(manifest.to_json())
    return Descriptor(manifest.media_type, digest, size, platform=platform)


def write_index(layout: Layout, index: Index) -> Descriptor:
    digest, size = layout.write_json(index.to_json())
    return Descriptor(index.media_type, digest, size)


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedImage:
    """One platform's image in a layout: its manifest descriptor, manifest and config."""

    descriptor: Descriptor
    manifest: Manifest
    config: ImageConfig
    media_types: MediaTypes


def platforms_of(
    layout: Layout, descriptor: Descriptor, where: str = "the image", depth: int = 0
) -> list[tuple[Platform, Descriptor]]:
    """The platform manifests an entry offers: (platform, manifest descriptor) pairs."""
    if descriptor.media_type in MANIFEST_TYPES:
        config = _config_of(layout, descriptor, where)
        return [(config.platform, descriptor)]
    if descriptor.media_type not in INDEX_TYPES:
        message = f"{descriptor.digest} is a {descriptor.media_type or 'blob'}, not an image"
        raise ImageError(message)
    if depth >= MAX_DEPTH:
        message = f"The index of {where} nests indexes more than {MAX_DEPTH} deep; refused"
        raise ImageError(message)
    what = f"The index {descriptor.digest} of {where}"
    found: list[tuple[Platform, Descriptor]] = []
    for entry in descriptor_list(layout.read_json(descriptor.digest, what), "manifests", what):
        if entry.media_type in INDEX_TYPES:
            found += platforms_of(layout, entry, where, depth + 1)
        elif entry.media_type in MANIFEST_TYPES:
            platform = entry.platform or _config_of(layout, entry, where).platform
            if platform.os != "unknown":  # attestations and other non-images
                found.append((platform, entry))
    return found


def load_image(
    layout: Layout, descriptor: Descriptor, platform: Platform, where: str = "the base image"
) -> ResolvedImage:
    """The image for `platform` behind a layout entry; ImageError naming what it offers.

    Manifests and configs are read with the 4 MiB bound and strict parser `inspect` uses;
    `where` names the image in every message.
    """
    offered = platforms_of(layout, descriptor, where)
    for have, entry in offered:
        if have.satisfies(platform):
            manifest = _manifest(layout, entry, where)
            config = ImageConfig.from_json(layout.read_config(manifest.config, where), where)
            if not config.platform.satisfies(platform):
                message = (
                    f"Manifest {entry.digest} says {have} but its config says {config.platform}"
                )
                raise ImageError(message)
            resolved = Descriptor(entry.media_type, entry.digest, entry.size, platform=have)
            types = MediaTypes.for_manifest(manifest.media_type)
            return ResolvedImage(resolved, manifest, config, types)
    names = ", ".join(sorted({str(p) for p, _ in offered})) or "none"
    message = f"{where[:1].upper()}{where[1:]} has no {platform} variant (it has: {names})"
    raise ImageError(message)


def _manifest(layout: Layout, descriptor: Descriptor, where: str) -> Manifest:
    document = layout.read_json(descriptor.digest, f"The manifest {descriptor.digest} of {where}")
    return Manifest.from_json(document, descriptor.media_type)


def _config_of(layout: Layout, manifest_descriptor: Descriptor, where: str) -> ImageConfig:
    manifest = _manifest(layout, manifest_descriptor, where)
    return ImageConfig.from_json(layout.read_config(manifest.config, where), where)
