"""Assemble a layered image: base layers, a runtime-files layer, then the built layers.

The same runtime files as the static format (`/tmp`, the run-as user in `/etc/passwd`
and `/etc/group`, a CA bundle when the base has none) go in a small layer right above the
base; the built layers follow bottom first. The config runs the console script through
the launcher, with `/app/bin` first on PATH so `python` is the program's environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.oci.assemble import (
    BaseImage,
    ImageOptions,
    _account_entries,
    _ca_entries,
    _copy_layers,
    _manifest_annotations,
    _port,
    _write_layer,
    merge_env,
)
from hatch_krust.oci.basefs import BaseFiles, scan_layers
from hatch_krust.oci.image import (
    OCI_TYPES,
    ImageConfig,
    Index,
    Manifest,
    ResolvedImage,
    RunConfig,
    created_timestamp,
    load_image,
    write_config,
    write_index,
    write_manifest,
)
from hatch_krust.oci.layer import Entry, dir_entry
from hatch_krust.oci.runtime_files import CA_BUNDLE_PATH

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.layered.layers import BuiltLayer
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layer import Layer
    from hatch_krust.oci.layout import Layout

__all__ = ["APP_BIN", "assemble_layered"]

APP_BIN = "/app/bin"
CREATED_BY = "hatch-krust (layered)"


def assemble_layered(
    base: BaseImage | None,
    layers: Sequence[BuiltLayer],
    options: ImageOptions,
    layout: Layout,
    *,
    entrypoint: tuple[str, ...],
) -> Descriptor:
    """Write the image for `options.platform` into `layout`; return its index descriptor."""
    resolved = load_image(base.layout, base.descriptor, options.platform) if base else None
    types = resolved.media_types if resolved else OCI_TYPES
    files = BaseFiles()
    base_layers = resolved.manifest.layers if resolved else ()
    if base is not None:
        files = scan_layers(base.layout, base_layers)
        _copy_layers(base.layout, base_layers, layout)
    entries, cert_file = _runtime_entries(options, files)
    runtime = _write_layer(layout, entries, options, types)
    for built in layers:
        _add_blob(layout, built.layer)
    ours = [(runtime, "runtime files")] + [(b.layer, b.name) for b in layers]
    config = _config(resolved, options, ours, cert_file, entrypoint)
    manifest = Manifest(
        media_type=types.manifest,
        config=write_config(layout, config, types.config),
        layers=(*base_layers, *(layer.descriptor() for layer, _ in ours)),
        annotations=_manifest_annotations(base, options),
    )
    manifest_descriptor = write_manifest(layout, manifest, config.platform)
    return write_index(
        layout, Index(types.index, (manifest_descriptor,), dict(options.annotations))
    )


def _runtime_entries(options: ImageOptions, files: BaseFiles) -> tuple[list[Entry], str | None]:
    entries = [] if files.has("tmp") else [dir_entry("/tmp", 0o1777)]  # noqa: S108
    entries += _account_entries(options.user, files)
    ca_entries, cert_file = _ca_entries(options.ca_certificates, files)
    return entries + ca_entries, cert_file


def _add_blob(layout: Layout, layer: Layer) -> None:
    """Copy a cached layer into the layout (the cache keeps its own copy)."""
    if not layout.has_blob(layer.digest):
        with layer.path.open("rb") as stream:
            layout.write_blob_from(stream, layer.digest, layer.size)


def _config(
    resolved: ResolvedImage | None,
    options: ImageOptions,
    ours: list[tuple[Layer, str]],
    cert_file: str | None,
    entrypoint: tuple[str, ...],
) -> ImageConfig:
    base = resolved.config if resolved else None
    base_run = base.config if base else RunConfig()
    created = created_timestamp(options.epoch)
    env = merge_env(base_run.env, options.env, cert_file, shipped_cert=cert_file == CA_BUNDLE_PATH)
    env = tuple(_with_app_bin(item) for item in env)
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
        {"created": created, "created_by": CREATED_BY, "comment": name} for _, name in ours
    )
    return ImageConfig(
        platform=base.platform if base else options.platform,
        config=run,
        diff_ids=(*(base.diff_ids if base else ()), *(layer.diff_id for layer, _ in ours)),
        history=(*(base.history if base else ()), *history),
        created=created,
    )


def _with_app_bin(item: str) -> str:
    """PATH=/app/bin first (the venv's python and console scripts), without /app itself."""
    key, _, value = item.partition("=")
    if key != "PATH":
        return item
    parts = [p for p in value.split(":") if p not in (APP_BIN, "/app")]
    return "PATH=" + ":".join([APP_BIN, *parts])
