"""Hand-made base images for tests, written with the standard library only.

They do not use hatch_krust's own writers, so a bug there cannot hide in both the base and
the image built on it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# A layer entry: (path, content) with content None for a directory, or
# (path, "->target") for a symlink.
Files = dict[str, "bytes | str | None"]


def tar_bytes(files: Files) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _put(root: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def make_base(
    root: Path,
    layers: list[Files],
    *,
    tag: str = "base",
    platforms: tuple[tuple[str, str], ...] = (("linux", "amd64"),),
    docker: bool = False,
    config: dict[str, Any] | None = None,
    as_index: bool = True,
) -> dict[str, Any]:
    """Write an image layout at `root` with the given layers, one manifest per platform.

    Returns the index.json entry that `tag` names.
    """
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    types = (
        (DOCKER_LIST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER)
        if docker
        else (OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
    )
    layer_descs, diff_ids = [], []
    for files in layers:
        raw = tar_bytes(files)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        digest, size = _put(root, gzip.compress(raw, mtime=0))
        layer_descs.append({"mediaType": types[3], "digest": digest, "size": size})
    manifests = []
    for os_name, arch in platforms:
        cfg = {
            "architecture": arch,
            "os": os_name,
            "config": config or {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"base layer {i}"} for i in range(len(layers))],
        }
        c_digest, c_size = _put(root, json.dumps(cfg).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": types[1],
            "config": {"mediaType": types[2], "digest": c_digest, "size": c_size},
            "layers": layer_descs,
        }
        m_digest, m_size = _put(root, json.dumps(manifest).encode())
        manifests.append(
            {
                "mediaType": types[1],
                "digest": m_digest,
                "size": m_size,
                "platform": {"os": os_name, "architecture": arch},
            }
        )
    if as_index:
        index = {"schemaVersion": 2, "mediaType": types[0], "manifests": manifests}
        i_digest, i_size = _put(root, json.dumps(index).encode())
        entry: dict[str, Any] = {"mediaType": types[0], "digest": i_digest, "size": i_size}
    else:
        entry = {k: v for k, v in manifests[0].items() if k != "platform"}
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    (root / "index.json").write_text(json.dumps(top))
    return entry
