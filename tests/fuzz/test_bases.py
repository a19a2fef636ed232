"""Generated hostile base images (issue 21 item 4): mutated manifests, configs and layer
tars go the whole way a build takes a base — from an `oci:` layout and from a registry
pull (an in-process fake) into `assemble`, which loads the base, scans its layers and
writes an image on it. Each must end in success or a KrustError, never a traceback.

Derandomized, no example database (see test_documents)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_krust.errors import KrustError
from hatch_krust.oci.assemble import BaseImage, ImageOptions, assemble
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.platform import Platform
from hatch_krust.registry import pull_image
from tests.fuzz.test_documents import STRINGS, encode, mutate
from tests.oci.images import OCI_MANIFEST, make_base
from tests.registry.fake import Fake

AMD64 = Platform.parse("linux/amd64")
BASES = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
PAX_KEYS = ["GNU.sparse.size", "GNU.sparse.offset", "GNU.sparse.numblocks", "GNU.sparse.map",
            "GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.name",
            "GNU.sparse.realsize", "size", "mtime", "uid", "gid", "path", "linkpath",
            "uname", "hdrcharset", "SCHILY.xattr.user.x"]
PAX_VALUES = ["x", "-1", "0", "1", "99999999999999999999", "1.5", "nan", "", "\udcff",
              "0,0,1", "../../etc/passwd", "/".join(["d"] * 400)]
TYPES = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
         tarfile.CHRTYPE, tarfile.FIFOTYPE, tarfile.GNUTYPE_SPARSE, b"x"]
NAMES = ["etc/passwd", "etc/group", "tmp", "etc/.wh..wh..opq", ".wh.etc", "a/.wh.b", "/",
         "./", "../x", "etc/ssl/certs/ca-certificates.crt", "/".join(["d"] * 300)]


class Base:
    """A sound one-platform base, and the documents it is made of."""

    def __init__(self, root: Path) -> None:
        make_base(root, [{"etc/": None, "etc/passwd": b"root:x:0:0::/:/x\n"}],
                  as_index=False)
        self.root = root
        self.layout = Layout.open(root)
        entry = self.layout.descriptors()[0]
        self.manifest = self.layout.read_json(entry.digest)
        self.config = self.layout.read_json(self.manifest["config"]["digest"])
        self.layer = self.layout.blob_path(self.manifest["layers"][0]["digest"]).read_bytes()
        self.digests = [self.manifest["config"]["digest"], self.manifest["layers"][0]["digest"]]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return Base(tmp_path_factory.mktemp("fuzz-base") / "base")


def _put(root: Path, raw: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(raw).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(raw)
    return {"digest": f"sha256:{digest}", "size": len(raw)}


def _layout_with(base: Base, where: Path, manifest_raw: bytes, blobs: list[bytes]) -> Layout:
    layout = Layout.create(where / "layout")
    for digest in base.digests:
        layout.blob_path(digest).write_bytes(base.layout.blob_path(digest).read_bytes())
    for raw in blobs:
        _put(layout.root, raw)
    entry = {"mediaType": OCI_MANIFEST, **_put(layout.root, manifest_raw),
             "annotations": {"org.opencontainers.image.ref.name": "base"}}
    (layout.root / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                                        "manifests": [entry]}))
    return layout


def build_on(layout: Layout, tag: str | None, where: Path) -> None:
    """What a build does with a base: load it, scan its layers, write an image on it."""
    executable = where / "app"
    executable.write_bytes(b"\x7fELF fake")
    target = Layout.create(where / "out")
    assemble(BaseImage.from_layout(layout, tag), executable,
             ImageOptions(name="app", platform=AMD64, env={"A": "1"}, exposed_ports=("80",)),
             target)


def _from_layout(layout: Layout, where: Path) -> None:
    with contextlib.suppress(KrustError):
        build_on(layout, "base", where)


def _from_registry(layout: Layout, manifest_raw: bytes, where: Path) -> None:
    fake = Fake()
    fake.manifests["v1"] = (manifest_raw, OCI_MANIFEST)
    for path in (layout.root / "blobs" / "sha256").iterdir():
        fake.blobs[f"sha256:{path.name}"] = path.read_bytes()
    pulled = Layout.create(where / "pulled")
    with contextlib.suppress(KrustError):
        pull_image(f"{fake.host}/base:v1", pulled, tag="b", options=fake.options())
        build_on(pulled, "b", where)


def _both(base: Base, where: Path, manifest: Any, data: st.DataObject,
          blobs: list[bytes]) -> None:
    raw = encode(data, manifest) if data is not None else json.dumps(manifest).encode()
    layout = _layout_with(base, where, raw, blobs)
    _from_layout(layout, where)
    _from_registry(layout, raw, where)


@BASES
@given(data=st.data())
def test_base_manifests(base: Base, data: st.DataObject,
                        tmp_path_factory: pytest.TempPathFactory) -> None:
    manifest = mutate(data, base.manifest, [*base.digests, *STRINGS])
    _both(base, tmp_path_factory.mktemp("m"), manifest, data, [])


@BASES
@given(data=st.data())
def test_base_configs(base: Base, data: st.DataObject,
                      tmp_path_factory: pytest.TempPathFactory) -> None:
    config = encode(data, mutate(data, base.config, [*base.digests, *STRINGS]))
    manifest = {**base.manifest, "config": {**base.manifest["config"],
                                            **_digest_of(config)}}
    _both(base, tmp_path_factory.mktemp("c"), manifest, None, [config])  # type: ignore[arg-type]


def _digest_of(raw: bytes) -> dict[str, Any]:
    return {"digest": "sha256:" + hashlib.sha256(raw).hexdigest(), "size": len(raw)}


def hostile_member(data: st.DataObject) -> bytes:
    """One tar member with random name, type, size and PAX headers, no end blocks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(data.draw(st.sampled_from(NAMES) | st.text(max_size=20)))
        info.type = data.draw(st.sampled_from(TYPES))
        info.linkname = data.draw(st.sampled_from(["", "/etc/passwd", "../../x"]))
        info.pax_headers = data.draw(st.dictionaries(
            st.sampled_from(PAX_KEYS), st.sampled_from(PAX_VALUES) | st.text(max_size=8),
            max_size=4))
        content = data.draw(st.binary(max_size=64))
        info.size = len(content)
        with contextlib.suppress(ValueError, UnicodeError):
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()[:-1024]


def mutate_tar(data: st.DataObject, raw: bytes) -> bytes:
    """A tar with members added, bytes flipped, cut short and maybe gzip-compressed."""
    tar = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 3), label="members")):
        tar[0:0] = hostile_member(data)
    for _ in range(data.draw(st.integers(0, 6), label="flips")):
        position = data.draw(st.integers(0, len(tar) - 1))
        tar[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans(), label="cut short"):
        tar = tar[: data.draw(st.integers(0, len(tar)), label="cut at")]
    return gzip.compress(bytes(tar), mtime=0) if data.draw(st.booleans()) else bytes(tar)


@BASES
@given(data=st.data())
def test_base_layers(base: Base, data: st.DataObject,
                     tmp_path_factory: pytest.TempPathFactory) -> None:
    layer = mutate_tar(data, gzip.decompress(base.layer))
    media_type = data.draw(st.sampled_from([
        "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip"]))
    descriptor = {"mediaType": media_type, **_digest_of(layer)}
    manifest = {**base.manifest, "layers": [descriptor, *base.manifest["layers"]]}
    _both(base, tmp_path_factory.mktemp("l"), manifest, None, [layer])  # type: ignore[arg-type]
