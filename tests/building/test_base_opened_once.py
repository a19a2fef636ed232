"""The base is opened once per platform per build: the build opens the first platform's
base before the format runs (so a bad base costs no work), and the layered format on the
base's Python asks for every platform's base again (`formats.base.BaseSource`); the
first platform's is the one the build opened, not a second pull (`building.bases.
BaseOpener`). So each platform manifest and blob of the base is fetched from the
registry at most once per build, the tag is looked up once a build (for two platforms and
for `all`: every platform is taken from the index it resolved to, so a tag moved during
the build does not reach it), and a base pinned by digest and served from the cache is
digest-checked once.

Through the real `build_image` of the layered format on Debian's two-platform Python base
(tests/infra/pythonbases.py) in a real registry, whose access log says what was asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

import hatch_krust.building.bases
from hatch_krust.building.built import BuiltImage
from hatch_krust.building.image import ProjectFacts, build_image, plan_image
from hatch_krust.config import load_config
from hatch_krust.inputs import BuildInputs
from hatch_krust.oci.layout import Layout
from tests.e2e.conftest import write_project
from tests.heard import Heard
from tests.infra.pythonbases import BASE_TAG, python_base_layout
from tests.infra.registry import RegistryServer

pytestmark = pytest.mark.infra

CACHE = Path(os.environ.get("KRUST_TEST_CACHE", "/var/tmp/hatch-krust-tests")) / "pythonbases"
REPOSITORY = "base-opened-once/python"
PLATFORMS = ["linux/amd64", "linux/arm64"]


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> tuple[str, str]:
    """(tag reference, digest reference) of the two-platform Python base in the registry."""
    CACHE.mkdir(parents=True, exist_ok=True)
    layout = python_base_layout(CACHE)
    tagged = f"{registry.host}/{REPOSITORY}:3.11"
    subprocess.run(
        ["skopeo", "copy", "-q", "--all", "--dest-tls-verify=false",
         f"oci:{layout}:{BASE_TAG}", f"docker://{tagged}"],
        check=True, capture_output=True,
    )  # fmt: skip
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{tagged}"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    digest = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    return tagged, f"{registry.host}/{REPOSITORY}@{digest}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("once"),
        name="once-app",
        scripts={"once-app": "once_app:main"},
        files={"once_app/__init__.py": "def main():\n    print('once')\n"},
    )


def build(
    project: Path, base: str, cache: Path, work: Path, platforms: list[str] = PLATFORMS
) -> tuple[Heard, BuiltImage]:
    """The layered image of `project` on `base`'s Python for both platforms (`platforms`),
    in-process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRUST_", "HATCH_"))}
    env.update({"KRUST_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": "1700000000"})
    table = {"format": "layered", "python": "base", "base-image": base, "platforms": platforms,
             "insecure-registries": [base.split("/", 1)[0]]}  # fmt: skip
    inputs = BuildInputs(
        root=project,
        dist_name="once-app",
        version="1.0",
        scripts={"once-app": "once_app:main"},
        config=load_config(table, env=env, user_defaults={}),
        epoch=1700000000,
        out_dir=work / "dist",
    )
    reporter = Heard()
    plan = plan_image(inputs, reporter, None)  # type: ignore[arg-type]
    built = build_image(inputs, ProjectFacts(), plan, reporter, work)  # type: ignore[arg-type]
    assert built.platform == plan.platform
    assert len(Layout.open(work / "image").read_json(built.index.digest)["manifests"]) == 2
    return reporter, built


def fetched(requests: list[str]) -> Counter[str]:
    """How many times each manifest (by tag or digest) and blob of the base was asked for."""
    prefix = f"/v2/{REPOSITORY}/"
    return Counter(
        path.removeprefix(prefix)
        for method, _, path in (line.partition(" ") for line in requests)
        if method in ("GET", "HEAD") and path.startswith(prefix)
    )


@pytest.mark.parametrize("platforms", [PLATFORMS, ["all"]], ids=["two", "all"])
def test_a_registry_base_is_fetched_once_per_build(
    base: tuple[str, str],
    project: Path,
    registry: RegistryServer,
    tmp_path: Path,
    platforms: list[str],
) -> None:
    tagged, _pinned = base
    mark = registry.mark()
    heard, _built = build(project, tagged, tmp_path / "cache", tmp_path / "work", platforms)
    asked = fetched(registry.requests_since(mark))
    by_digest = {what: n for what, n in asked.items() if "sha256:" in what}
    blobs = [what for what in by_digest if what.startswith("blobs/")]
    assert len(blobs) >= 4, asked  # each platform's config and layer
    assert all(n == 1 for n in by_digest.values()), asked
    # the tag is looked up once a build: every platform (and the `all` listing) is taken
    # from the index it resolved to (whose own digest is not asked for: its platform
    # manifests are)
    assert asked["manifests/3.11"] == 1, asked
    pulls = [line for line in heard.lines if line.startswith("Pulling base image")]
    assert sorted(pulls) == sorted(f"Pulling base image {tagged} ({p})" for p in PLATFORMS)


def test_a_pinned_base_from_the_cache_is_checked_once_per_build(
    base: tuple[str, str],
    project: Path,
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _tagged, pinned = base
    cache = tmp_path / "cache"
    first, _built = build(project, pinned, cache, tmp_path / "first")
    assert not [line for line in first.lines if "served from the cache" in line]
    checked: Counter[str] = Counter()
    verify_blob = Layout.verify_blob

    def counting(layout: Layout, descriptor: Any) -> bool:
        checked[descriptor.digest] += 1
        return verify_blob(layout, descriptor)

    monkeypatch.setattr(Layout, "verify_blob", counting)
    mark = registry.mark()
    again, _built = build(project, pinned, cache, tmp_path / "again")
    assert fetched(registry.requests_since(mark)) == Counter()  # served offline
    assert len(checked) >= 3 * len(PLATFORMS), checked  # each platform's manifest, config, layer
    assert all(n == 1 for n in checked.values()), checked
    served = [line for line in again.lines if "served from the cache" in line]
    assert len(served) == len(PLATFORMS)  # each platform's base says so, once


# --- a tag that moves while the build runs ------------------------------------------------

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def get_raw(registry: RegistryServer, identifier: str) -> bytes:
    accept = f"{OCI_INDEX}, {OCI_MANIFEST}"
    url = f"http://{registry.host}/v2/{REPOSITORY}/manifests/{identifier}"
    response = httpx.get(url, headers={"Accept": accept})
    response.raise_for_status()
    return response.content


def put_raw(registry: RegistryServer, identifier: str, data: bytes, media_type: str) -> str:
    url = f"http://{registry.host}/v2/{REPOSITORY}/manifests/{identifier}"
    httpx.put(url, content=data, headers={"Content-Type": media_type}).raise_for_status()
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def move_tag(registry: RegistryServer, tag: str, index_bytes: bytes) -> str:
    """Push another release of the base to `tag`, which holds `index_bytes`: an index whose
    platform manifests carry one more annotation (other digests; the same configs and
    layers, which the repository holds). Its digest."""
    index = json.loads(index_bytes)
    for entry in index["manifests"]:
        manifest = json.loads(get_raw(registry, entry["digest"]))
        manifest.setdefault("annotations", {})["test.release"] = "the next one"
        data = json.dumps(manifest).encode()
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        entry["digest"] = put_raw(registry, digest, data, OCI_MANIFEST)
        entry["size"] = len(data)
    index.setdefault("annotations", {})["test.release"] = "the next one"
    return put_raw(registry, tag, json.dumps(index).encode(), OCI_INDEX)


BASE_DIGEST = "org.opencontainers.image.base.digest"


def base_digests(built: BuiltImage) -> dict[str, str]:
    """What each platform image says its base is (its base.digest annotation), by platform."""
    layout = built.layout
    out: dict[str, str] = {}
    for entry in layout.read_json(built.index.digest)["manifests"]:
        platform = f"{entry['platform']['os']}/{entry['platform']['architecture']}"
        out[platform] = layout.read_json(entry["digest"])["annotations"][BASE_DIGEST]
    return out


def provenance_bases(built: BuiltImage) -> list[str]:
    """The base digests the platforms' provenance documents name."""
    found: list[str] = []

    def look(value: Any) -> None:
        if isinstance(value, dict):
            found.extend(v for k, v in value.items() if k == BASE_DIGEST)
            for v in value.values():
                look(v)
        elif isinstance(value, list):
            for v in value:
                look(v)

    for doc in built.documents:
        if doc.kind == "provenance":
            look(json.loads(doc.data))
    return found


@pytest.mark.parametrize("platforms", [PLATFORMS, ["all"]], ids=["two", "all"])
def test_a_tag_moved_during_the_build_gives_every_platform_the_first_index(
    base: tuple[str, str],
    project: Path,
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    platforms: list[str],
) -> None:
    tagged, _pinned = base
    tag = "moving-all" if platforms == ["all"] else "moving-two"
    first_index = get_raw(registry, "3.11")
    put_raw(registry, tag, first_index, OCI_INDEX)
    entries = json.loads(first_index)["manifests"]
    first = {f"{e['platform']['os']}/{e['platform']['architecture']}": e["digest"]
             for e in entries}  # fmt: skip
    pull_base = hatch_krust.building.bases.pull_base
    moved: list[str] = []

    def pull_then_move(*args: Any, **kwargs: Any) -> Any:
        pulled = pull_base(*args, **kwargs)
        if not moved:  # a new release is pushed once the first platform's base is opened
            moved.append(move_tag(registry, tag, first_index))
        return pulled

    monkeypatch.setattr(hatch_krust.building.bases, "pull_base", pull_then_move)
    mark = registry.mark()
    reference = tagged.rsplit(":", 1)[0] + f":{tag}"
    _heard, built = build(project, reference, tmp_path / "cache", tmp_path / "work", platforms)
    asked = fetched(registry.requests_since(mark))
    assert moved and get_raw(registry, tag) != first_index  # the tag did move
    assert base_digests(built) == first  # both platforms from the index the build resolved
    assert sorted(provenance_bases(built)) == sorted(first.values())
    assert built.record["base"]["digest"] == f"sha256:{hashlib.sha256(first_index).hexdigest()}"
    assert asked[f"manifests/{tag}"] == 1, asked  # the build's one look-up (the move GETs none)
