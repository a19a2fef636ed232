"""Hostile bases and archives end in an ImageError, never a traceback (issue 21 item 4): a
PAX `GNU.sparse.size=x`, manifest `"annotations": "str"`, a config holding `"\\ud800"`;
each through an `oci:` layout, a registry pull (an in-process fake) and an archive."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import BaseImage, ImageOptions, assemble
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from hatch_krust.oci.platform import Platform
from hatch_krust.registry import pull_image
from tests.oci.images import OCI_MANIFEST, make_base
from tests.registry.fake import Fake

AMD64 = Platform.parse("linux/amd64")


def build_on(layout: Layout, tag: str | None, where: Path) -> str:
    """What a build does with a base: load it, scan its layers, write an image on it."""
    executable = where / "app"
    executable.write_bytes(b"\x7fELF fake")
    target = Layout.create(where / "out")
    return assemble(BaseImage.from_layout(layout, tag), executable,
                    ImageOptions(name="app", platform=AMD64), target).digest


def _put(root: Path, document: Any) -> dict[str, Any]:
    raw = json.dumps(document).encode() if not isinstance(document, bytes) else document
    digest = hashlib.sha256(raw).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(raw)
    return {"digest": f"sha256:{digest}", "size": len(raw)}


def hostile_base(root: Path, kind: str) -> None:
    """A one-platform base (a manifest entry) with one hostile part."""
    make_base(root, [{"etc/": None}], as_index=False, tag="base")
    index = json.loads((root / "index.json").read_text())
    entry = index["manifests"][0]
    manifest = json.loads((root / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    if kind == "annotations":
        manifest["annotations"] = "str"
    elif kind == "surrogate":
        config = json.loads((root / "blobs" / "sha256" /
                             manifest["config"]["digest"][7:]).read_text())
        config["config"]["Env"] = ["A=\ud800"]
        raw = json.dumps(config).encode()  # ensure_ascii: the escape `\ud800`
        manifest["config"].update(_put(root, raw))
    elif kind == "sparse":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("etc/passwd")
            info.pax_headers = {"GNU.sparse.size": "x", "GNU.sparse.major": "1",
                                "GNU.sparse.minor": "0"}
            tar.addfile(info, io.BytesIO(b""))
        manifest["layers"][0].update(_put(root, buffer.getvalue()))
        manifest["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    entry.update(_put(root, manifest))
    (root / "index.json").write_text(json.dumps(index))


KINDS = ["annotations", "surrogate", "sparse"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_base_in_a_layout_is_an_image_error(tmp_path: Path, kind: str) -> None:
    hostile_base(tmp_path / "base", kind)
    with pytest.raises(ImageError):
        build_on(Layout.open(tmp_path / "base"), "base", tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_base_from_a_registry_is_an_image_error(tmp_path: Path, kind: str) -> None:
    hostile_base(tmp_path / "base", kind)
    source = Layout.open(tmp_path / "base")
    fake = _serve(source)
    pulled = Layout.create(tmp_path / "pulled")
    with pytest.raises(ImageError):
        pull_image(f"{fake.host}/base:v1", pulled, tag="b", options=fake.options())
        build_on(pulled, "b", tmp_path)


def _serve(source: Layout) -> Fake:
    fake = Fake()
    fake.manifests["v1"] = (source.read_blob(source.descriptors()[0].digest), OCI_MANIFEST)
    for path in (source.root / "blobs" / "sha256").iterdir():
        fake.blobs[f"sha256:{path.name}"] = path.read_bytes()
    return fake


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_base_in_an_archive_is_an_image_error(tmp_path: Path, kind: str) -> None:
    hostile_base(tmp_path / "base", kind)
    write_archive(Layout.open(tmp_path / "base"), tmp_path / "base.tar")
    with pytest.raises(ImageError), open_archive(tmp_path / "base.tar") as layout:
        build_on(layout, "base", tmp_path)


def test_a_bad_pax_header_in_an_archive_is_an_image_error(tmp_path: Path) -> None:
    make_base(tmp_path / "base", [{"etc/": None}], tag="base")
    write_archive(Layout.open(tmp_path / "base"), tmp_path / "base.tar")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("extra")
        info.pax_headers = {"GNU.sparse.size": "x", "GNU.sparse.major": "1",
                            "GNU.sparse.minor": "0"}
        tar.addfile(info, io.BytesIO(b""))
    (tmp_path / "bad.tar").write_bytes(buffer.getvalue()[:-1024]
                                       + (tmp_path / "base.tar").read_bytes())
    with pytest.raises(ImageError, match="Cannot read the OCI archive"), \
            open_archive(tmp_path / "bad.tar"):
        pass


def test_the_fake_serves_a_sound_base(tmp_path: Path) -> None:
    """The registry case above fails for the hostile part, not for the set-up."""
    hostile_base(tmp_path / "base", "none")
    fake = _serve(Layout.open(tmp_path / "base"))
    pulled = Layout.create(tmp_path / "pulled")
    pull_image(f"{fake.host}/base:v1", pulled, tag="b", options=fake.options())
    digest = build_on(pulled, "b", tmp_path)
    assert Layout.open(tmp_path / "out").has_blob(digest)
