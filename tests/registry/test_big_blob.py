"""A 500 MB blob is pushed and pulled with the client's peak memory under 150 MB."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from hatch_krust.atomic import atomic_writer
from hatch_krust.oci.canonical import canonical_json
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.mediatypes import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.registry import RegistryServer

pytestmark = [pytest.mark.slow, pytest.mark.registry]

SIZE = 500 * 1000 * 1000 + 12345
LIMIT_MB = 150

CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from hatch_krust.oci.layout import Layout
    from hatch_krust.registry import copy, push_layout
    layout_dir, dest, out_dir = sys.argv[1:4]
    layout = Layout.open(Path(layout_dir))
    digest = push_layout(layout, layout.resolve("big"), dest)
    pulled = copy(dest, "oci:" + out_dir + ":big")
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent
    # through fork and exec, so a large pytest process would be counted as ours
    status = Path("/proc/self/status").read_text().splitlines()
    peak_kib = int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    print(json.dumps({"digest": digest, "pulled": pulled, "peak_mb": peak_kib / 1024}))
""")


def big_image(layout: Layout, size: int) -> Descriptor:
    """One layer of `size` incompressible bytes, written and hashed in 1 MiB steps."""
    hasher = hashlib.sha256()
    scratch = layout.root / "big.tmp"
    with atomic_writer(scratch) as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(1 << 20, remaining))
            hasher.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    digest = "sha256:" + hasher.hexdigest()
    scratch.replace(layout.blob_path(digest))
    layer = Descriptor(OCI_LAYER_GZIP, digest, size)
    config_digest, config_size = layout.write_json(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers",
                                                           "diff_ids": [digest]}})
    manifest = canonical_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": Descriptor(OCI_CONFIG, config_digest, config_size).to_json(),
        "layers": [layer.to_json()],
    })
    descriptor = Descriptor(OCI_MANIFEST, layout.write_blob(manifest), len(manifest))
    layout.add_manifest(descriptor, "big")
    return descriptor


def test_500_mb_blob_push_and_pull_in_bounded_memory(registry: RegistryServer,
                                                     tmp_path: Path) -> None:
    layout = Layout.create(tmp_path / "layout")
    descriptor = big_image(layout, SIZE)
    out = tmp_path / "pulled"
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(layout.root),
             f"{registry.host}/big/blob:v1", str(out)],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["digest"] == descriptor.digest
        assert result["pulled"] == descriptor.digest
        layer = layout.read_json(descriptor.digest)["layers"][0]
        assert (out / "blobs" / "sha256" / layer["digest"][7:]).stat().st_size == SIZE
        print(f"peak RSS of push+pull of {SIZE / 1e6:.0f} MB: {result['peak_mb']:.1f} MB")
        assert result["peak_mb"] < LIMIT_MB
    finally:
        for path in (layout.root, out):
            subprocess.run(["rm", "-rf", str(path)], check=False)
