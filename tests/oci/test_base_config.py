"""A base image's config: bounded, strictly parsed, one ImageError naming the base (issue 11,
item 2). The same reader serves registry bases (pulled into the cache layout), `oci:` and
`oci-archive:` bases."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import BaseImage, ImageOptions, assemble
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout
from tests.oci.images import make_base

AMD64 = Platform("linux", "amd64")
NAME = "registry.example/team/base:1"


def base_with_config(root: Path, config: bytes, declared: int | None = None) -> BaseImage:
    """A one-layer base whose config blob is replaced by `config` (size `declared`)."""
    make_base(root, [{"etc/": None}], as_index=False)
    layout = Layout.open(root)
    entry = layout.resolve("base")
    manifest = layout.read_json(entry.digest)
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    layout.blob_path(digest).write_bytes(config)
    manifest["config"].update(digest=digest, size=len(config) if declared is None else declared)
    data = json.dumps(manifest).encode()
    new = layout.write_blob(data)
    (root / "index.json").write_text(
        json.dumps({"manifests": [{**entry.to_json(), "digest": new, "size": len(data)}]})
    )
    return BaseImage.from_layout(layout, "base")


def build_on(base: BaseImage, tmp_path: Path, executable: Path) -> dict[str, Any]:
    """Build on `base`; return the new image's config."""
    options = ImageOptions("hello", AMD64, base_name=NAME)
    out = Layout.create(tmp_path / "out")
    index = out.read_json(assemble(base, executable, options, out).digest)
    manifest = out.read_json(index["manifests"][0]["digest"])
    return out.read_json(manifest["config"]["digest"])


def good_config(**changes: Any) -> dict[str, Any]:
    config = {"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": []}, "config": {}}
    return {**config, **changes}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (b"\xff\xfe\xfa not utf-8", "is not valid JSON"),
        (b"{not json", "is not valid JSON"),
        (b'["a", "list"]', "is not a JSON object"),
        (b"[" * 50_000, "nests JSON arrays or objects too deeply"),
        (json.dumps(good_config(rootfs=[])).encode(), "`rootfs` is list, not an object"),
        (json.dumps(good_config(config={"Env": "A=1"})).encode(), "`config.Env` is str"),
        (json.dumps(good_config(config={"Env": [1]})).encode(), "`config.Env` is not a list of"),
        (json.dumps(good_config(config={"Labels": ["a"]})).encode(), "`config.Labels` is list"),
        (json.dumps(good_config(config={"Labels": {"a": 1}})).encode(), "`config.Labels` is not"),
        (json.dumps(good_config(config=[1])).encode(), "`config` is list"),
        (json.dumps(good_config(history=[1])).encode(), "`history` is not a list of objects"),
        (json.dumps(good_config(os=5)).encode(), "`os` is int"),
    ],
)
def test_malformed_config_is_one_error_naming_the_base(
    tmp_path: Path, small_executable: Path, config: bytes, problem: str
):
    base = base_with_config(tmp_path / "base", config)
    with pytest.raises(ImageError, match=f"The config of the base image {NAME} .*{problem}"):
        build_on(base, tmp_path, small_executable)


def test_a_config_over_4_mib_is_refused(tmp_path: Path, small_executable: Path):
    huge = json.dumps(good_config(padding="x" * (5 << 20))).encode()
    base = base_with_config(tmp_path / "base", huge)
    with pytest.raises(ImageError, match=f"The config of the base image {NAME} is larger than 4"):
        build_on(base, tmp_path, small_executable)


def test_the_declared_size_is_checked_before_reading(tmp_path: Path, small_executable: Path):
    """A 400 MiB config is refused from its descriptor: nothing is read (here: nothing is
    even there to read)."""
    base = base_with_config(tmp_path / "base", b"{}", declared=400 << 20)
    config = Layout.open(tmp_path / "base").read_json(base.descriptor.digest)["config"]
    Layout.open(tmp_path / "base").blob_path(config["digest"]).unlink()
    with pytest.raises(ImageError, match="is larger than 4 MiB; refused"):
        build_on(base, tmp_path, small_executable)


def test_a_well_formed_config_still_builds(tmp_path: Path, small_executable: Path):
    config = good_config(config={"Env": ["A=1"], "Labels": {"x": "y"}, "StopSignal": "TERM"})
    base = base_with_config(tmp_path / "base", json.dumps(config).encode())
    built = build_on(base, tmp_path, small_executable)["config"]
    assert "A=1" in built["Env"]
    assert (built["Labels"], built["StopSignal"]) == ({"x": "y"}, "TERM")
