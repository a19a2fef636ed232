"""Assemble a layered image: base layers, a runtime-files layer, then the built layers.

The same runtime files as the static format (`/tmp`, the run-as user in `/etc/passwd`
and `/etc/group`, a CA bundle when the base has none) go in a small layer right above the
base; the built layers follow bottom first. The config runs the console script through
the launcher, with `/app/bin` first on PATH so `python` is the program's environment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from hatch_krust.oci.assemble import (
    BaseImage,
    ImageOptions,
    finish_image,
    image_env,
    root_additions,
    runtime_entries,
    take_base,
    write_image_layer,
)
from hatch_krust.oci.layer import bytes_entry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hatch_krust.layered.layers import BuiltLayer
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layer import Layer
    from hatch_krust.oci.layout import Layout

__all__ = ["APP_BIN", "assemble_layered"]

APP_BIN = "/app/bin"
_LIBC_MARKERS = (
    "etc/ld.so.cache",
    "lib/x86_64-linux-gnu/libc.so.6",
    "usr/lib/x86_64-linux-gnu/libc.so.6",
    "lib/aarch64-linux-gnu/libc.so.6",
    "usr/lib/aarch64-linux-gnu/libc.so.6",
    "lib/libc.so.6",
    "usr/lib64/libc.so.6",
)
CREATED_BY = "hatch-krust (layered)"


def assemble_layered(
    base: BaseImage | None,
    layers: Sequence[BuiltLayer],
    options: ImageOptions,
    layout: Layout,
    *,
    entrypoint: tuple[str, ...],
    warn: Callable[[str], None] | None = None,
) -> Descriptor:
    """Write the image for `options.platform` into `layout`; return its index descriptor.

    `options.metadata_files` (files for scanners, such as dpkg status entries) go in the
    runtime-files layer; `warn` hears about a base with a C library of its own.
    """
    parts = take_base(base, options, layout)
    if warn is not None and any(parts.files.has(p) for p in _LIBC_MARKERS):
        warn(
            "the base image has a C library of its own (an ld.so.cache or libc.so.6): the "
            "layered image's system libraries, taken from this build host, replace its "
            "same-named files. Use a base without a C library (scratch, the default "
            "cgr.dev/chainguard/static) unless the base's distribution matches this host's"
        )
    locale, root_layers, options = root_additions(layout, parts, options)
    entries, cert_file = runtime_entries(options, parts.files)
    entries += [bytes_entry(path, data, 0o644) for path, data in options.metadata_files]
    runtime = write_image_layer(layout, [*entries, *locale], options, parts.types)
    for built in layers:
        _add_blob(layout, built.layer)
    # gzip tar either way: the built layers take the base's media type (OCI or Docker)
    kind = parts.types.layer
    # the zone database and the extra files sit right above the runtime files
    ours = [(runtime, "runtime files"), *root_layers]
    ours += [(replace(b.layer, media_type=kind), b.name) for b in layers]
    env = tuple(_with_app_bin(item) for item in image_env(parts, options, cert_file))
    return finish_image(
        layout, base, parts, options, ours, entrypoint=entrypoint, env=env, created_by=CREATED_BY
    )


def _add_blob(layout: Layout, layer: Layer) -> None:
    """Copy a cached layer into the layout (the cache keeps its own copy)."""
    if not layout.has_blob(layer.digest):
        with layer.path.open("rb") as stream:
            layout.write_blob_from(stream, layer.digest, layer.size)


def _with_app_bin(item: str) -> str:
    """PATH=/app/bin first (the venv's python and console scripts), without /app itself."""
    key, _, value = item.partition("=")
    if key != "PATH":
        return item
    parts = [p for p in value.split(":") if p not in (APP_BIN, "/app")]
    return "PATH=" + ":".join([APP_BIN, *parts])
