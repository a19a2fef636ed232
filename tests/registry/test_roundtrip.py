"""Round trips against the real registry, read back by skopeo (an independent client)."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, write_archive
from hatch_krust.registry import Options, copy, inspect, pull_image, pull_manifest, push_layout
from tests.infra.registry import random_image, random_index

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.registry import RegistryServer

pytestmark = [
    pytest.mark.registry,
]


def skopeo(*args: str) -> bytes:
    done = subprocess.run(["skopeo", *args], capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def uploads(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("POST", "PATCH"))
            or (line.startswith("PUT") and "/blobs/" in line)]


def test_push_single_image_skopeo_reads_same_bytes(
    registry: RegistryServer, layout: Layout, tmp_path: Path
) -> None:
    descriptor = random_image(layout, layers=3, tag="v1")
    dest = f"{registry.host}/single/app:v1"
    digest = push_layout(layout, descriptor, dest, ["extra"])
    assert digest == descriptor.digest
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{dest}")
    assert raw == layout.read_blob(descriptor.digest)
    extra = skopeo("inspect", "--tls-verify=false", "--raw",
                   f"docker://{registry.host}/single/app:extra")
    assert extra == raw
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", f"docker://{dest}",
           f"oci:{tmp_path / 'sk'}:x")
    copied = Layout.open(tmp_path / "sk")
    assert copied.resolve("x").digest == descriptor.digest
    manifest = pull_manifest(dest)
    assert manifest.digest == descriptor.digest
    assert [d.digest for d in manifest.children()] == [
        d.digest for d in pull_manifest(f"{registry.host}/single/app@{digest}").children()
    ]


def test_push_two_platform_index(registry: RegistryServer, layout: Layout,
                                 tmp_path: Path) -> None:
    platforms = [Platform("linux", "amd64"), Platform("linux", "arm64", "v8")]
    index = random_index(layout, platforms, tag="multi")
    dest = f"{registry.host}/multi/app:1.0"
    mark = registry.mark()
    assert push_layout(layout, index, dest) == index.digest
    lines = registry.requests_since(mark)
    manifest_puts = [line for line in lines if line.startswith("PUT") and "/manifests/" in line]
    # children by digest, then the index by digest, then the tag, last
    assert manifest_puts[-1].endswith("/manifests/1.0")
    assert manifest_puts[-2].endswith(index.digest)
    last_blob = max(i for i, line in enumerate(lines) if line.startswith("PUT")
                    and "/blobs/" in line)
    assert last_blob < lines.index(manifest_puts[0])
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{dest}")
    assert raw == layout.read_blob(index.digest)
    for child in json.loads(raw)["manifests"]:
        child_raw = skopeo("inspect", "--tls-verify=false", "--raw",
                           f"docker://{registry.host}/multi/app@{child['digest']}")
        assert child_raw == layout.read_blob(child["digest"])
    skopeo("copy", "--all", "--src-tls-verify=false", f"docker://{dest}",
           f"oci:{tmp_path / 'sk'}:all")
    arm = pull_manifest(dest, "linux/arm64")
    assert arm.digest == json.loads(raw)["manifests"][1]["digest"]
    assert pull_manifest(dest).digest == index.digest


def test_repush_uploads_nothing(registry: RegistryServer, layout: Layout) -> None:
    descriptor = random_image(layout, tag="v1")
    dest = f"{registry.host}/again/app:v1"
    push_layout(layout, descriptor, dest)
    mark = registry.mark()
    assert push_layout(layout, descriptor, dest) == descriptor.digest
    lines = registry.requests_since(mark)
    assert uploads(lines) == []
    assert not [line for line in lines if line.startswith("PUT")]
    assert pull_manifest(dest).digest == descriptor.digest


def test_moved_tag_is_updated(registry: RegistryServer, layout: Layout) -> None:
    first = random_image(layout, tag="a")
    second = random_image(layout, tag="b")
    dest = f"{registry.host}/moving/app:latest"
    push_layout(layout, first, dest)
    push_layout(layout, second, dest)
    assert pull_manifest(dest).digest == second.digest


def test_cross_repository_mount(registry: RegistryServer, layout: Layout) -> None:
    descriptor = random_image(layout, layers=2, size=4096, tag="v1")
    push_layout(layout, descriptor, f"{registry.host}/mount/source:v1")
    mark = registry.mark()
    push_layout(layout, descriptor, f"{registry.host}/mount/target:v1",
                mount_from="mount/source")
    lines = registry.requests_since(mark)
    mounts = [line for line in lines if ("mount=" in line and "from=mount%2Fsource" in line)
              or "from=mount/source" in line]
    assert len(mounts) == 3  # two layers and the config
    assert not [line for line in lines if line.startswith("PUT") and "/blobs/" in line]


def test_mount_of_unknown_blob_continues_the_session(
    registry: RegistryServer, layout: Layout
) -> None:
    descriptor = random_image(layout, tag="v1")
    dest = f"{registry.host}/mount/fresh:v1"
    mark = registry.mark()
    push_layout(layout, descriptor, dest, mount_from="mount/nothing-here")
    lines = registry.requests_since(mark)
    posts = [line for line in lines if line.startswith("POST")]
    assert len(posts) == 3  # config + 2 layers, each one POST: a 202 session is used as is
    assert all("mount=" in line for line in posts)
    assert pull_manifest(dest).digest == descriptor.digest


def test_registry_to_registry_copy_mounts(registry: RegistryServer,
                                          layout: Layout) -> None:
    index = random_index(layout, [Platform("linux", "amd64"), Platform("linux", "arm64")])
    push_layout(layout, index, f"{registry.host}/copy/src:v1")
    mark = registry.mark()
    digest = copy(f"{registry.host}/copy/src:v1", f"{registry.host}/copy/dst:v2")
    assert digest == index.digest
    lines = registry.requests_since(mark)
    assert [line for line in lines if "mount=" in line]
    assert not [line for line in lines if line.startswith("PUT") and "/blobs/" in line]
    assert pull_manifest(f"{registry.host}/copy/dst:v2").digest == index.digest


def test_copy_registry_layout_archive_round_trip(registry: RegistryServer,
                                                 layout: Layout, tmp_path: Path) -> None:
    index = random_index(layout, [Platform("linux", "amd64"), Platform("linux", "arm64")])
    push_layout(layout, index, f"{registry.host}/rt/src:v1")
    out = tmp_path / "out"
    assert copy(f"{registry.host}/rt/src:v1", f"oci:{out}:t") == index.digest
    assert Layout.open(out).resolve("t").digest == index.digest
    archive = tmp_path / "img.tar"
    assert copy(f"oci:{out}:t", f"oci-archive:{archive}:t") == index.digest
    assert copy(f"oci-archive:{archive}:t", f"docker://{registry.host}/rt/back") \
        == index.digest
    skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{registry.host}/rt/back")
    one = copy(f"{registry.host}/rt/back", f"oci:{tmp_path / 'one'}",
               platform="linux/arm64")
    assert one == json.loads(layout.read_blob(index.digest))["manifests"][1]["digest"]


def test_layout_archive_made_by_skopeo_pushes(registry: RegistryServer, layout: Layout,
                                              tmp_path: Path) -> None:
    descriptor = random_image(layout, tag="v1")
    archive = tmp_path / "ours.tar"
    write_archive(layout, archive)
    skopeo("copy", "--preserve-digests", f"oci-archive:{archive}:v1",
           f"oci:{tmp_path / 'theirs'}:v1")
    digest = copy(f"oci:{tmp_path / 'theirs'}:v1", f"{registry.host}/theirs/app:v1")
    assert digest == descriptor.digest


def test_pull_image_for_a_base(registry: RegistryServer, layout: Layout,
                               tmp_path: Path) -> None:
    index = random_index(layout, [Platform("linux", "amd64"), Platform("linux", "arm64", "v8")])
    push_layout(layout, index, f"{registry.host}/base/img:v1")
    target = Layout.create(tmp_path / "base")
    pulled = pull_image(f"{registry.host}/base/img:v1", target, platform="linux/arm64",
                        tag="base", layers=False)
    assert pulled.index is not None
    assert pulled.config["architecture"] == "arm64"
    assert str(pulled.reference) == f"{registry.host}/base/img@{pulled.manifest.digest}"
    entry = target.resolve("base")
    assert entry.digest == pulled.manifest.digest
    assert entry.platform == Platform("linux", "arm64", "v8")
    layers = pulled.manifest.children()[1:]
    assert not any(target.has_blob(d.digest) for d in layers)
    full = pull_image(f"{registry.host}/base/img:v1", target, tag="amd")
    assert all(target.has_blob(d.digest) for d in full.manifest.children())


def test_pull_image_from_a_resolved_index_ignores_a_moved_tag(
    registry: RegistryServer, layout: Layout, tmp_path: Path
) -> None:
    """`root`: the index a tag resolved to before is where the platform comes from (by its
    digest, verified), and the tag is not asked for again."""
    platforms = [Platform("linux", "amd64"), Platform("linux", "arm64")]
    tagged = f"{registry.host}/base/resolved:v1"
    first = random_index(layout, platforms)
    push_layout(layout, first, tagged)
    root = pull_manifest(tagged)
    push_layout(layout, random_index(layout, platforms), tagged)  # the tag moves
    target = Layout.create(tmp_path / "base")
    mark = registry.mark()
    pulled = pull_image(tagged, target, platform="linux/arm64", tag="base", root=root)
    assert pulled.index == root
    wanted = next(e for e in layout.read_json(first.digest)["manifests"]
                  if e["platform"]["architecture"] == "arm64")  # fmt: skip
    assert pulled.manifest.digest == target.resolve("base").digest == wanted["digest"]
    asked = [line for line in registry.requests_since(mark) if "/manifests/" in line]
    assert asked == [f"GET /v2/base/resolved/manifests/{wanted['digest']}"], asked
    with pytest.raises(ImageError, match="names another digest"):
        pull_image(f"{registry.host}/base/resolved@{'sha256:' + 'a' * 64}", target, root=root)


def test_inspect(registry: RegistryServer, layout: Layout) -> None:
    descriptor = random_image(layout, tag="v1")
    push_layout(layout, descriptor, f"{registry.host}/insp/app:v1")
    result = inspect(f"{registry.host}/insp/app:v1")
    assert result["digest"] == descriptor.digest
    assert result["config"]["architecture"] == "amd64"
    assert inspect(f"oci:{layout.root}:v1")["digest"] == descriptor.digest


def test_progress_reports_every_blob_to_its_end(registry: RegistryServer,
                                                layout: Layout) -> None:
    descriptor = random_image(layout, layers=3, size=3_000_000, tag="v1")
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress(digest: str, done: int, total: int) -> None:
        seen.setdefault(digest, []).append((done, total))

    push_layout(layout, descriptor, f"{registry.host}/progress/app:v1",
                options=Options(progress=progress))
    expected = {d["digest"]: d["size"] for d in layout.read_json(descriptor.digest)["layers"]}
    for digest, size in expected.items():
        calls = seen[digest]
        assert calls[-1] == (size, size)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        assert len(calls) > 2  # reported while streaming, not only at the end
    again: dict[str, list[tuple[int, int]]] = {}
    push_layout(layout, descriptor, f"{registry.host}/progress/app:v1",
                options=Options(progress=lambda d, n, t: again.setdefault(d, []).append((n, t))))
    assert all(calls == [(expected.get(d, calls[-1][1]),) * 2] for d, calls in again.items())
