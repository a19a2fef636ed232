"""Generated hostile documents (issue 11, acceptance): thousands of mutated `index.json`,
manifest and config documents — random types, sizes, nesting and encodings — go through the
layout reader, the registry's manifest parser and the base-config reader. Each must end in
success or a KrustError, never another exception (which would be a traceback for a user).

Hypothesis runs derandomized (a fixed seed per test) with no example database, so CI sees
the same inputs every run; a failure prints the smallest document that caused it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_krust.errors import KrustError
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.image import ImageConfig, check_config_shape, load_image, platforms_of
from hatch_krust.oci.layout import Layout, reachable_blobs
from hatch_krust.oci.merge import merge_indexes
from hatch_krust.registry.manifests import parse_manifest, select_platform
from tests.oci.images import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, make_base

AMD64 = Platform("linux", "amd64")
FUZZ = settings(
    max_examples=1200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KEYS = [
    "schemaVersion", "mediaType", "digest", "size", "annotations", "urls", "platform",
    "artifactType", "manifests", "layers", "config", "subject", "os", "architecture",
    "variant", "os.version", "rootfs", "diff_ids", "history", "created", "Env", "Cmd",
    "Entrypoint", "Labels", "User", "WorkingDir", "ExposedPorts",
    "org.opencontainers.image.ref.name",
]  # fmt: skip
STRINGS = [
    "", "sha256:" + "0" * 64, "sha256:../../etc/passwd", "sha512:" + "a" * 128, "linux",
    "amd64", "unknown", OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, "application/octet-stream",
    "application/vnd.docker.distribution.manifest.list.v2+json", "\x00", "\ud800", "é" * 3,
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(STRINGS)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cut", "noise"]
_DEEP = "\x00deep\x00"


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every dict and list inside `value` (the root is `()`)."""
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    else:
        return []
    found = [path]
    for key, child in children:
        found += _containers(child, (*path, key))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def mutate(data: st.DataObject, document: dict[str, Any], extra: list[str]) -> Any:
    """A few random edits of a copy of `document`: replace, delete, add, wrap, or nest a
    value thousands of levels deep; sometimes the whole document is replaced."""
    doc: Any = copy.deepcopy(document)
    values = JSON | st.sampled_from(extra) | st.just(_DEEP)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        if data.draw(st.integers(0, 19)) == 0:
            doc = data.draw(values, label="whole document")
            continue
        paths = _containers(doc)
        if not paths:
            break
        target = _at(doc, data.draw(st.sampled_from(paths), label="container"))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = data.draw(st.sampled_from(["replace", "delete", "add", "wrap"]), label="action")
        if action == "add" or not keys:
            key = data.draw(st.sampled_from(KEYS), label="new key")
            if isinstance(target, dict):
                target[key] = data.draw(values, label="value")
            else:
                target.append(data.draw(values, label="value"))
            continue
        key = data.draw(st.sampled_from(keys), label="key")
        if action == "delete":
            del target[key]
        elif action == "wrap":
            target[key] = [target[key]]
        else:
            target[key] = data.draw(values, label="value")
    return doc


def encode(data: st.DataObject, document: Any) -> bytes:
    """Serialise in a random encoding; `_DEEP` becomes up to 5,000 nested lists."""
    text = json.dumps(document, ensure_ascii=False)
    if _DEEP in json.dumps(document):
        depth = data.draw(st.integers(1, 5000), label="depth")
        text = text.replace(json.dumps(_DEEP, ensure_ascii=False), "[" * depth + "]" * depth)
    encoding = data.draw(st.sampled_from(ENCODINGS), label="encoding")
    if encoding == "cut":
        raw = text.encode("utf-8", "surrogatepass")
        return raw[: data.draw(st.integers(0, len(raw)), label="cut at")]
    if encoding == "noise":
        return data.draw(st.binary(max_size=64), label="noise")
    errors = "replace" if encoding == "latin-1" else "surrogatepass"
    return text.encode(encoding, errors)


def put(layout: Layout, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    layout.blob_path(digest).write_bytes(data)
    return digest


class Fixture:
    """A sound two-platform base in a layout, and the documents it is made of."""

    def __init__(self, root: Path) -> None:
        make_base(root, [{"etc/": None}], platforms=(("linux", "amd64"), ("linux", "arm64")))
        self.layout = Layout.open(root)
        self.index_json = json.loads((root / "index.json").read_text())
        top = self.layout.descriptors()[0]
        self.index = self.layout.read_json(top.digest)
        self.manifest = self.layout.read_json(self.index["manifests"][0]["digest"])
        self.config = self.layout.read_json(self.manifest["config"]["digest"])
        self.digests = sorted(reachable_blobs(self.layout))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return Fixture(tmp_path_factory.mktemp("fuzz") / "base")


@pytest.fixture(scope="module")
def scratch(base: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """A layout holding the base's blobs, whose `index.json` each example overwrites
    (blobs are content-addressed, so those of earlier examples do no harm)."""
    layout = Layout.create(tmp_path_factory.mktemp("scratch") / "l")
    for digest in base.digests:
        layout.blob_path(digest).write_bytes(base.layout.blob_path(digest).read_bytes())
    return layout


def read_everything(layout: Layout) -> None:
    """Every reader a layout entry goes through: inspect, copy, archive, build, merge."""
    for descriptor in layout.descriptors():
        layout.resolve(descriptor.annotations.get("org.opencontainers.image.ref.name"))
        platforms_of(layout, descriptor)
        load_image(layout, descriptor, AMD64)
    layout.resolve(None)
    reachable_blobs(layout)
    merge_indexes(layout, layout.descriptors())


def survive(action: Any, *args: Any) -> None:
    """Success or a KrustError; anything else fails the test with the input shown."""
    with contextlib.suppress(KrustError):
        action(*args)


@FUZZ
@given(data=st.data())
def test_index_json(base: Fixture, scratch: Layout, data: st.DataObject) -> None:
    document = mutate(data, base.index_json, base.digests)
    (scratch.root / "index.json").write_bytes(encode(data, document))
    survive(read_everything, scratch)


@FUZZ
@given(data=st.data(), which=st.sampled_from(["index", "manifest"]))
def test_manifests_in_a_layout_and_from_a_registry(
    base: Fixture, scratch: Layout, data: st.DataObject, which: str
) -> None:
    original = base.index if which == "index" else base.manifest
    raw = encode(data, mutate(data, original, base.digests))
    content_type = data.draw(st.sampled_from([original["mediaType"], "", "text/plain"]))
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    survive(_registry_side, raw, content_type, digest)
    entry = {"mediaType": original["mediaType"], "digest": put(scratch, raw), "size": len(raw)}
    if which == "manifest":  # the fuzzed manifest becomes the amd64 entry of a new index
        index = {**base.index, "manifests": [{**entry, "platform": AMD64.to_json()}]}
        index_raw = json.dumps(index).encode()
        entry = {
            "mediaType": OCI_INDEX,
            "digest": put(scratch, index_raw),
            "size": len(index_raw),
        }
    (scratch.root / "index.json").write_text(json.dumps({"manifests": [entry]}))
    survive(read_everything, scratch)


def _registry_side(raw: bytes, content_type: str, digest: str) -> None:
    manifest = parse_manifest(raw, content_type, digest, "fuzz.example/repo@" + digest)
    manifest.children()
    if manifest.is_index:
        select_platform(manifest, "linux/amd64", "fuzz.example/repo")


@FUZZ
@given(data=st.data())
def test_base_configs(base: Fixture, scratch: Layout, data: st.DataObject) -> None:
    raw = encode(data, mutate(data, base.config, base.digests))
    config = {"mediaType": OCI_CONFIG, "digest": put(scratch, raw), "size": len(raw)}
    manifest = json.dumps({**base.manifest, "config": config}).encode()
    entry = {"mediaType": OCI_MANIFEST, "digest": put(scratch, manifest), "size": len(manifest)}
    (scratch.root / "index.json").write_text(json.dumps({"manifests": [entry]}))
    survive(load_image, scratch, scratch.descriptors()[0], AMD64, "the base image fuzz")
    survive(_parse_config, raw)


def _parse_config(raw: bytes) -> None:
    from hatch_krust.oci.canonical import json_object

    document = json_object(raw, "The config of fuzz")
    check_config_shape(document, "fuzz")
    ImageConfig.from_json(document, "fuzz")
