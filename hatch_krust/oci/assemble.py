"""Assemble the image: a base (or scratch), a layer of files for scanners, and one layer
holding the executable.

`assemble` is the offline heart of the image target: it reads the base from a layout, writes
one deterministic layer (the executable and whatever runtime files the base lacks), a config,
a manifest and a one-entry index into the target layout, and returns the index descriptor.
`merge_indexes` joins per-platform results built on different machines into one index.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ImageError
from hatch_krust.oci.basefs import BaseFiles, scan_layers
from hatch_krust.oci.grammar import ENV_NAME, USER, port_in_range
from hatch_krust.oci.image import (
    OCI_TYPES,
    ImageConfig,
    Index,
    Manifest,
    MediaTypes,
    ResolvedImage,
    RunConfig,
    created_timestamp,
    load_image,
    write_config,
    write_index,
    write_manifest,
)
from hatch_krust.oci.layer import Entry, bytes_entry, dir_entry, file_entry, write_layer
from hatch_krust.oci.layout import Layout, adopt_blob
from hatch_krust.oci.merge import merge_indexes
from hatch_krust.oci.root_files import HOST_ROOT, root_files, zoneinfo_component
from hatch_krust.oci.runtime_files import (
    CA_BUNDLE_PATH,
    KNOWN_CA_PATHS,
    accounts_for,
    ca_bundle_source,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.oci.descriptor import Descriptor, Platform
    from hatch_krust.oci.layer import Layer

__all__ = [
    "APP_DIR",
    "BASE_DIGEST",
    "BASE_NAME",
    "DEFAULT_PATH",
    "BaseImage",
    "BaseParts",
    "ImageOptions",
    "assemble",
    "finish_image",
    "image_env",
    "merge_env",
    "merge_indexes",
    "root_additions",
    "runtime_entries",
    "take_base",
    "write_image_layer",
]

APP_DIR = "/app"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
CREATED_BY = "hatch-krust"

_NAME = re.compile(r"^[A-Za-z0-9._+-]+$")


@dataclass(frozen=True)
class BaseImage:
    """A base image held in a layout: an index or a manifest entry of that layout."""

    layout: Layout
    descriptor: Descriptor

    @classmethod
    def from_layout(cls, layout: Layout, tag: str | None = None) -> BaseImage:
        return cls(layout, layout.resolve(tag))


@dataclass(frozen=True)
class ImageOptions:
    """Everything about the image except its base and executable.

    `name` places the executable at `/app/<name>`; `epoch` is SOURCE_DATE_EPOCH (None: 1970);
    `args` become Cmd; `env`, `labels` and `exposed_ports` merge with the base's; `user`
    defaults to 65532 (`nonroot`); `annotations` go on the manifest and the index;
    `ca_certificates` is True (certifi's bundle), False, or a PEM file to ship instead;
    `base_name`/`base_digest` name the base for the `base.*` annotations;
    `metadata_files` ((path, bytes), for scanners) go in a layer of their own below the
    executable's, left out when empty. `locale`: `LANG=C.UTF-8` and the C.UTF-8 locale
    files when the base sets no locale; `zoneinfo`: the host's zone database when the base
    has none (both hatch_krust.oci.root_files; the build turns them on);
    `extra_files`: entries of a layer of
    their own (option `extra-files`); `shipped`, when given, hears what the image got
    beyond the program (SBOM entries in the bundle's `native` shape, each with the
    `platform` of the image that got it); `host_root` is the root the locale files, the
    zone database and the dpkg record naming it are read below (the build host's `/`).
    """

    name: str
    platform: Platform
    epoch: int | None = None
    args: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    user: str = "65532"
    workdir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    ca_certificates: bool | Path = True
    base_name: str = ""
    base_digest: str = ""
    metadata_files: tuple[tuple[str, bytes], ...] = ()
    locale: bool = False
    zoneinfo: bool = False
    extra_files: tuple[Entry, ...] = ()
    shipped: list[dict[str, Any]] | None = field(default=None, compare=False)
    host_root: Path = HOST_ROOT

    def __post_init__(self) -> None:
        _check(bool(_NAME.fullmatch(self.name)), f"Invalid executable name {self.name!r}")
        for key in self.env:
            _check(bool(ENV_NAME.fullmatch(key)), f"Invalid environment variable name {key!r}")
        for port in self.exposed_ports:
            _check(port_in_range(port), f"Invalid port {port!r}: expected 8080 or 8080/udp")
        _check(bool(USER.fullmatch(self.user)), f"Invalid user {self.user!r}: expected 65532[:GID]")
        _check(not self.workdir or self.workdir.startswith("/"), "workdir must be absolute")
        _check(self.epoch is None or self.epoch >= 0, "epoch must not be negative")

    @property
    def executable_path(self) -> str:
        return f"{APP_DIR}/{self.name}"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ImageError(message)


def assemble(
    base: BaseImage | None, executable: Path, options: ImageOptions, layout: Layout
) -> Descriptor:
    """Build the image for `options.platform` into `layout`; return its index descriptor."""
    if not executable.is_file():
        message = f"The executable {executable} does not exist"
        raise ImageError(message)
    parts = take_base(base, options, layout)
    layers = _metadata_layer(layout, options, parts.types)
    locale, root_layers, options = root_additions(layout, parts, options)
    layers += root_layers
    entries, cert_file = runtime_entries(options, parts.files)
    entries.insert(0, file_entry(options.executable_path, executable, 0o755))
    entries += locale
    layers.append((write_image_layer(layout, entries, options, parts.types), _app_comment(options)))
    env = image_env(parts, options, cert_file)
    return finish_image(
        layout, base, parts, options, layers, entrypoint=(options.executable_path,), env=env
    )


@dataclass(frozen=True)
class BaseParts:
    """The base as an image is built on it: its config and layers (None for scratch), the
    media types the new image uses, and the files its layers leave."""

    resolved: ResolvedImage | None
    types: MediaTypes
    files: BaseFiles

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.resolved.manifest.layers if self.resolved else ()


def take_base(base: BaseImage | None, options: ImageOptions, layout: Layout) -> BaseParts:
    """Load the base for `options.platform`, scan its files, copy its layers into `layout`."""
    if base is None:
        return BaseParts(None, OCI_TYPES, BaseFiles())
    where = f"the base image {options.base_name}" if options.base_name else "the base image"
    resolved = load_image(base.layout, base.descriptor, options.platform, where)
    files = scan_layers(base.layout, resolved.manifest.layers)
    _copy_layers(base.layout, resolved.manifest.layers, layout)
    return BaseParts(resolved, resolved.media_types, files)


def runtime_entries(options: ImageOptions, files: BaseFiles) -> tuple[list[Entry], str | None]:
    """The runtime files the base lacks (`/tmp`, the run-as user's accounts, a CA bundle)
    and the CA bundle path the image ends up with (or None)."""
    entries = [] if files.has("tmp") else [dir_entry("/tmp", 0o1777)]  # noqa: S108
    entries += _account_entries(options.user, files)
    ca_entries, cert_file = _ca_entries(options.ca_certificates, files)
    return entries + ca_entries, cert_file


def root_additions(
    layout: Layout, parts: BaseParts, options: ImageOptions
) -> tuple[list[Entry], list[tuple[Layer, str]], ImageOptions]:
    """What a minimal root lacks (hatch_krust.oci.root_files) and the extra files: the
    locale files for the runtime layer, the zone and extra-files layers, and `options`
    with `LANG` added to its env when the base sets no locale."""
    base_env = parts.resolved.config.config.env if parts.resolved else ()
    found = root_files(
        parts.files,
        base_env,
        options.env,
        locale=options.locale,
        zoneinfo=options.zoneinfo,
        root=options.host_root,
    )
    layers: list[tuple[Layer, str]] = []
    if found.zoneinfo:
        zones = write_image_layer(layout, list(found.zoneinfo), options, parts.types)
        layers.append((zones, "time zone database (the build host's /usr/share/zoneinfo)"))
        if options.shipped is not None:
            component = zoneinfo_component(zones, found.zone_package)
            options.shipped.append({**component, "platform": str(options.platform)})
    if options.extra_files:
        extra = write_image_layer(layout, list(options.extra_files), options, parts.types)
        layers.append((extra, "extra files of the project (option extra-files)"))
    if found.env:
        options = replace(options, env={**dict(found.env), **options.env})
    return list(found.locale), layers, options


def image_env(parts: BaseParts, options: ImageOptions, cert_file: str | None) -> tuple[str, ...]:
    """The base's environment merged with the options' (see `merge_env`)."""
    base_env = parts.resolved.config.config.env if parts.resolved else ()
    return merge_env(base_env, options.env, cert_file, shipped_cert=cert_file == CA_BUNDLE_PATH)


def finish_image(
    layout: Layout,
    base: BaseImage | None,
    parts: BaseParts,
    options: ImageOptions,
    layers: list[tuple[Layer, str]],
    *,
    entrypoint: tuple[str, ...],
    env: tuple[str, ...],
    created_by: str = CREATED_BY,
) -> Descriptor:
    """Write the config, manifest and one-entry index of the base plus `layers` ((layer,
    history comment), bottom first, already in `layout`); return the index descriptor."""
    config = _image_config(parts.resolved, options, layers, (entrypoint, env, created_by))
    manifest = Manifest(
        media_type=parts.types.manifest,
        config=write_config(layout, config, parts.types.config),
        layers=(*parts.layers, *(layer.descriptor() for layer, _ in layers)),
        annotations=_manifest_annotations(base, options),
    )
    manifest_descriptor = write_manifest(layout, manifest, config.platform)
    index = Index(parts.types.index, (manifest_descriptor,), dict(options.annotations))
    return write_index(layout, index)


def _copy_layers(source: Layout, layers: tuple[Descriptor, ...], target: Layout) -> None:
    """Base layers go into the target layout, verified, unless already there."""
    for layer in layers:
        if target.has_blob(layer.digest) or (layer.urls and not source.has_blob(layer.digest)):
            continue
        with source.open_blob(layer.digest) as blob:
            target.write_blob_from(blob, layer.digest, layer.size)


def _app_comment(options: ImageOptions) -> str:
    return f"{options.executable_path} and runtime files"


def _metadata_layer(
    layout: Layout, options: ImageOptions, types: MediaTypes
) -> list[tuple[Layer, str]]:
    """The files for scanners (package metadata only), as a layer, or none."""
    if not options.metadata_files:
        return []
    entries = [bytes_entry(path, data, 0o644) for path, data in options.metadata_files]
    return [(write_image_layer(layout, entries, options, types), "package metadata for scanners")]


def _account_entries(user: str, files: BaseFiles) -> list[Entry]:
    passwd, group = files.content("etc/passwd"), files.content("etc/group")
    if (files.has("etc/passwd") and passwd is None) or (files.has("etc/group") and group is None):
        return []  # a link or an oversized file: leave the base's accounts alone
    accounts = accounts_for(user, passwd, group)
    entries = []
    if accounts.passwd is not None:
        entries.append(bytes_entry("/etc/passwd", accounts.passwd, 0o644))
    if accounts.group is not None:
        entries.append(bytes_entry("/etc/group", accounts.group, 0o644))
    if accounts.home and not files.has(accounts.home):
        entries.append(dir_entry(accounts.home, 0o755, accounts.uid, accounts.gid))
    return entries


def _ca_entries(option: bool | Path, files: BaseFiles) -> tuple[list[Entry], str | None]:
    """Ship a bundle when asked for one explicitly, or when the base has none (certifi's)."""
    base_bundle = next((p for p in KNOWN_CA_PATHS if files.has(p)), None)
    source = ca_bundle_source(option)
    if source is None or (option is True and base_bundle is not None):
        return [], base_bundle
    return [file_entry(CA_BUNDLE_PATH, source, 0o644)], CA_BUNDLE_PATH


def write_image_layer(
    layout: Layout, entries: list[Entry], options: ImageOptions, types: MediaTypes
) -> Layer:
    """A normalised layer of `entries` (mtimes at `options.epoch`), stored in `layout`."""
    staging = layout.blob_path("sha256:" + "0" * 64).parent
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".krust-layer-", dir=staging) as tmp:
        layer = write_layer(
            entries, Path(tmp) / "layer", epoch=options.epoch or 0, media_type=types.layer
        )
        adopt_blob(layout, layer.path, layer.digest)
    return layer


def merge_env(
    base_env: tuple[str, ...],
    env: Mapping[str, str],
    cert_file: str | None,
    *,
    shipped_cert: bool,
) -> tuple[str, ...]:
    """Base env, then SSL_CERT_FILE, then the caller's env; PATH always gains /app."""
    merged: dict[str, str] = {}
    for item in base_env:
        key, _, value = item.partition("=")
        merged[key] = value
    if cert_file and (shipped_cert or "SSL_CERT_FILE" not in merged):
        merged["SSL_CERT_FILE"] = cert_file
    merged.update(env)
    path = merged.get("PATH") or DEFAULT_PATH
    if APP_DIR not in path.split(":"):
        path = f"{path}:{APP_DIR}"
    merged["PATH"] = path
    return tuple(f"{k}={v}" for k, v in merged.items())


def _image_config(
    resolved: ResolvedImage | None,
    options: ImageOptions,
    layers: list[tuple[Layer, str]],
    run_facts: tuple[tuple[str, ...], tuple[str, ...], str],
) -> ImageConfig:
    """`run_facts`: the entrypoint, the environment and the history's `created_by`."""
    entrypoint, env, created_by = run_facts
    base = resolved.config if resolved else None
    base_run = base.config if base else RunConfig()
    created = created_timestamp(options.epoch)
    run = RunConfig(
        entrypoint=entrypoint,
        cmd=options.args,
        env=env,
        user=options.user,
        working_dir=options.workdir or base_run.working_dir,
        labels={**base_run.labels, **options.labels},
        exposed_ports=tuple(sorted({*base_run.exposed_ports, *map(_port, options.exposed_ports)})),
        other=base_run.other,
    )
    history = tuple(
        {"created": created, "created_by": created_by, "comment": comment}
        for _, comment in layers
    )
    return ImageConfig(
        platform=base.platform if base else options.platform,
        config=run,
        diff_ids=(*(base.diff_ids if base else ()), *(layer.diff_id for layer, _ in layers)),
        history=(*(base.history if base else ()), *history),
        created=created,
    )


def _port(port: str) -> str:
    return port if "/" in port else f"{port}/tcp"


def _manifest_annotations(base: BaseImage | None, options: ImageOptions) -> dict[str, str]:
    annotations = dict(options.annotations)
    if base is not None:
        if options.base_name:
            annotations[BASE_NAME] = options.base_name
        annotations[BASE_DIGEST] = options.base_digest or base.descriptor.digest
    return annotations
